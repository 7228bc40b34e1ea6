-- After a partition's raw records were re-mapped: the rows the new rules no longer produce
-- (an id that changed with a corrected recipient, a record now quarantined) leave core and
-- raw; what replaced them was merged in the same transaction. The raw table is a fixed
-- identifier chosen by code.
WITH kept AS (
    SELECT DISTINCT record_id FROM stage_keys WHERE NOT rejected
),
events_dropped AS (
    DELETE FROM core.message_events AS e
    WHERE e.source = %(source)s AND e.partition_date = %(partition_date)s
      AND NOT EXISTS (SELECT 1 FROM kept WHERE kept.record_id = e.event_id)
    RETURNING 1
),
raw_dropped AS (
    DELETE FROM {raw_table} AS r
    WHERE r.partition_date = %(partition_date)s
      AND NOT EXISTS (SELECT 1 FROM kept WHERE kept.record_id = r.record_id)
    RETURNING 1
)
SELECT (SELECT count(*) FROM events_dropped), (SELECT count(*) FROM raw_dropped)
