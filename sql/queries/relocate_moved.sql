-- Before a chunk merges: a record already loaded under another partition day (the vendor
-- corrected its timestamp, or the account's time zone changed) moves to the day it is now
-- staged under, in its raw table and in core.message_events, keeping its first load time and
-- its status, so that the merge that follows updates it (and records a status change) instead
-- of keeping the record twice. A partitioned table's keys include the partition day, so only
-- this step keeps one row per record.
-- A record is looked for within a few days of its staged day (MOVE_WINDOW_DAYS, and why, in
-- pipelines/warehouse/loading.py): an index probe into the month partition of that range, two
-- near a month's ends (pruned per record at run time), however many months the warehouse
-- holds. A move further than that would be kept twice; the events check reports it.
WITH incoming AS (
    SELECT DISTINCT ON (record_id) record_id, partition_date
    FROM stage_records
    WHERE reject_reason IS NULL
    ORDER BY record_id, seq DESC
),
raw_moved AS (
    UPDATE {raw_table} AS t
    SET partition_date = i.partition_date, loaded_at = now()
    FROM incoming AS i
    WHERE t.record_id = i.record_id
      AND t.partition_date <> i.partition_date
      AND t.partition_date BETWEEN i.partition_date - %(move_window)s AND i.partition_date + %(move_window)s
    RETURNING t.record_id
),
events_moved AS (
    UPDATE core.message_events AS t
    SET partition_date = i.partition_date, loaded_at = now()
    FROM incoming AS i
    WHERE t.event_id = i.record_id
      AND t.partition_date <> i.partition_date
      AND t.partition_date BETWEEN i.partition_date - %(move_window)s AND i.partition_date + %(move_window)s
    RETURNING t.event_id
)
SELECT (SELECT count(*) FROM raw_moved), (SELECT count(*) FROM events_moved)
