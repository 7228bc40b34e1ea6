-- The month partitions the staged chunk's rows need; usually all exist and nothing is created.
SELECT core.ensure_month_partitions(array_agg(DISTINCT partition_date))
FROM stage_records
WHERE reject_reason IS NULL
