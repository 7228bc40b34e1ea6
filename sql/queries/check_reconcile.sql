-- Raw landing and normalized events, partition by partition: every raw record has its event
-- and every event its raw record. Returns only the partitions that disagree.
WITH raw_counts AS (
    SELECT partition_date, count(*) AS raw_rows FROM {raw_table}
    WHERE %(days)s::date[] IS NULL OR partition_date = ANY(%(days)s::date[])
    GROUP BY partition_date
), event_counts AS (
    SELECT partition_date, count(*) AS event_rows FROM core.message_events
    WHERE source = %(source)s AND (%(days)s::date[] IS NULL OR partition_date = ANY(%(days)s::date[]))
    GROUP BY partition_date
)
SELECT coalesce(r.partition_date, e.partition_date) AS partition_date,
       coalesce(r.raw_rows, 0) AS raw_rows, coalesce(e.event_rows, 0) AS event_rows
FROM raw_counts AS r FULL JOIN event_counts AS e USING (partition_date)
WHERE coalesce(r.raw_rows, 0) <> coalesce(e.event_rows, 0)
ORDER BY 1
