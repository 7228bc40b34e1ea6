-- Merge a staged chunk into its raw landing table and core.message_events in one statement.
-- A record fetched twice (repeated across pages, or changed mid-walk) lands once, as last seen:
-- within a chunk by DISTINCT ON, across chunks because later chunks merge later.
-- Rows whose content did not change are left alone, so loaded_at only moves when the vendor
-- changed something. The raw table is a fixed identifier chosen by code, never vendor data.
WITH latest AS (
    SELECT DISTINCT ON (record_id) *
    FROM stage_records
    WHERE reject_reason IS NULL
    ORDER BY record_id, seq DESC
),
raw_written AS (
    INSERT INTO {raw_table} AS t (record_id, partition_date, context, payload)
    SELECT record_id, partition_date, context, payload FROM latest
    ON CONFLICT (record_id) DO UPDATE
    SET partition_date = excluded.partition_date,
        context        = excluded.context,
        payload        = excluded.payload,
        loaded_at      = now()
    WHERE (t.partition_date, t.context, t.payload)
          IS DISTINCT FROM (excluded.partition_date, excluded.context, excluded.payload)
),
-- Each distinct status of a channel is looked up once, not once per row.
statuses AS (
    SELECT s.source, s.channel, s.status, s.records,
           core.event_type_for(s.source, s.channel, s.status) AS event_type
    FROM (SELECT source, channel, coalesce(status_raw, '') AS status, count(*) AS records
          FROM stage_records WHERE reject_reason IS NULL GROUP BY 1, 2, 3) AS s
),
-- The column lists (written, staged, updates, current, incoming) are composed from the event
-- row's one definition (pipelines/model/events.py) by pipelines/warehouse/event_sql.py.
mapped AS (
    SELECT {staged}
    FROM latest AS l
    JOIN statuses AS s
      ON s.source = l.source AND s.channel = l.channel AND s.status = coalesce(l.status_raw, '')
),
events_written AS (
    INSERT INTO core.message_events AS t ({written})
    SELECT * FROM mapped
    ON CONFLICT (event_id) DO UPDATE
    SET {updates}, loaded_at = now()
    WHERE ({current}) IS DISTINCT FROM ({incoming})
    -- An updated row first loaded by this transaction is a record seen again in a later chunk
    -- of the same load: a duplicate, not an update.
    RETURNING xmax = 0 AS inserted, first_loaded_at = now() AS new_in_this_load
)
-- Both inserts run to completion whether read or not.
SELECT
    (SELECT count(*) FROM events_written WHERE inserted)                                  AS inserted,
    (SELECT count(*) FROM events_written WHERE NOT inserted AND NOT new_in_this_load)     AS updated,
    (SELECT coalesce(sum(records), 0) FROM statuses WHERE event_type = 'unknown')         AS unknown_seen
