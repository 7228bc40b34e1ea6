-- Integrity of a source's normalized events over the given partitions (all, when NULL):
-- event_id unique, required columns present, statuses nobody has mapped.
-- Within one partition day the table's key already makes event_id unique: duplicates (a sort of
-- every id) are counted over several days, where a record kept under two days would show.
SELECT count(*)                                                            AS events,
       CASE WHEN cardinality(%(days)s::date[]) = 1 THEN 0
            ELSE (SELECT count(*) - count(DISTINCT event_id)
                  FROM core.message_events
                  WHERE source = %(source)s
                    AND (%(days)s::date[] IS NULL OR partition_date = ANY(%(days)s::date[])))
       END                                                                 AS duplicate_ids,
       count(*) FILTER (WHERE channel IS NULL OR direction IS NULL OR event_type IS NULL
                          OR occurred_at IS NULL OR recipient IS NULL OR recipient = '') AS missing_required,
       count(*) FILTER (WHERE event_type = 'unknown')                      AS unknown_status,
       coalesce(array_agg(DISTINCT status_raw) FILTER (WHERE event_type = 'unknown'), '{}') AS unknown_values
FROM core.message_events
WHERE source = %(source)s
  AND (%(days)s::date[] IS NULL OR partition_date = ANY(%(days)s::date[]))
