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
-- The probes are lateral subqueries kept apart (OFFSET 0), planned as look-ups of one key
-- whatever the statistics say (merge_stage.sql says why); they rarely find anything, and the
-- updates then join what they found (materialized: found once), however they are planned.
WITH incoming AS (
    SELECT DISTINCT ON (record_id) record_id, partition_date
    FROM stage_records
    WHERE reject_reason IS NULL
    ORDER BY record_id, seq DESC
),
raw_found AS MATERIALIZED (
    SELECT i.record_id, i.partition_date, f.partition_date AS stored_date
    FROM incoming AS i
    CROSS JOIN LATERAL (
        SELECT r.partition_date
        FROM {raw_table} AS r
        WHERE r.record_id = i.record_id
          AND r.partition_date <> i.partition_date
          AND r.partition_date BETWEEN i.partition_date - %(move_window)s AND i.partition_date + %(move_window)s
        OFFSET 0
    ) AS f
),
raw_moved AS (
    UPDATE {raw_table} AS t
    SET partition_date = m.partition_date, loaded_at = now()
    FROM raw_found AS m
    WHERE t.record_id = m.record_id AND t.partition_date = m.stored_date
    RETURNING t.record_id
),
events_found AS MATERIALIZED (
    SELECT i.record_id, i.partition_date, f.partition_date AS stored_date
    FROM incoming AS i
    CROSS JOIN LATERAL (
        SELECT e.partition_date
        FROM core.message_events AS e
        WHERE e.event_id = i.record_id
          AND e.partition_date <> i.partition_date
          AND e.partition_date BETWEEN i.partition_date - %(move_window)s AND i.partition_date + %(move_window)s
        OFFSET 0
    ) AS f
),
events_moved AS (
    UPDATE core.message_events AS t
    SET partition_date = m.partition_date, loaded_at = now()
    FROM events_found AS m
    WHERE t.event_id = m.record_id AND t.partition_date = m.stored_date
    RETURNING t.event_id
)
SELECT (SELECT count(*) FROM raw_moved), (SELECT count(*) FROM events_moved)
