-- Merge a staged chunk into its raw landing table and core.message_events in one statement,
-- recording each status change in core.status_history and the days it touched for the marts.
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
    ON CONFLICT (record_id, partition_date) DO UPDATE
    SET context   = excluded.context,
        payload   = excluded.payload,
        loaded_at = now()
    WHERE (t.context, t.payload) IS DISTINCT FROM (excluded.context, excluded.payload)
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
    -- The keys include the partition day (relocate_moved.sql has moved a record whose day
    -- changed, so each record has one row).
    ON CONFLICT (event_id, partition_date) DO UPDATE
    SET {updates}, loaded_at = now()
    WHERE ({current}) IS DISTINCT FROM ({incoming})
    -- An updated row first loaded by this transaction is a record seen again in a later chunk
    -- of the same load: a duplicate, not an update.
    RETURNING t.event_id, t.partition_date, t.source, t.channel, t.status_raw, t.event_type,
              t.occurred_at, t.first_loaded_at = now() AS new_in_this_load
),
-- Each row written, with the row it replaced: every part of one statement reads the snapshot
-- taken before it, so core.message_events still shows the row as it was (one index probe per
-- row written). A row it does not show was inserted by this chunk. (A partitioned table's
-- RETURNING cannot show xmax.) A row it shows that this transaction first loaded is a record
-- the load saw before, in an earlier chunk or in a fresh load's direct COPY: a duplicate.
-- The probe is a lateral subquery kept apart (OFFSET 0), so that it is planned as a look-up of
-- one key whatever the statistics say: autovacuum may analyze the partition while the load
-- writes it, count the load's rows as dead, and leave it "empty" to the planner, which would
-- then read it whole once per row written (tests/integration/test_fresh_loads.py).
written AS (
    SELECT w.*, p.event_id IS NULL AS inserted, p.status_raw AS from_status_raw,
           p.event_type AS from_event_type, p.occurred_at AS from_occurred_at,
           p.loaded_at = now() AS changed_in_this_load
    FROM events_written AS w
    LEFT JOIN LATERAL (
        SELECT e.event_id, e.status_raw, e.event_type, e.occurred_at, e.loaded_at
        FROM core.message_events AS e
        WHERE e.event_id = w.event_id AND e.partition_date = w.partition_date
        OFFSET 0
    ) AS p ON true
),
-- The rows updated, and what they were before.
updated AS (
    SELECT event_id, source, channel, status_raw, event_type, occurred_at, new_in_this_load,
           from_status_raw, from_event_type, from_occurred_at, changed_in_this_load
    FROM written
    WHERE NOT inserted
),
-- A status change of an event known before this load. (A record new in this load and seen
-- again later in it is a duplicate: its first status is what the load last saw.)
transitions AS (
    SELECT * FROM updated
    WHERE NOT new_in_this_load AND status_raw IS DISTINCT FROM from_status_raw
),
-- An event this load already changed has its history row from an earlier chunk (this
-- transaction's: observed now()); the change folds into it, so a load records one change per
-- event, from before the load to what it left, and none when it changes back: loading the same
-- pages again adds nothing however they shift between chunks.
earlier AS (
    SELECT t.event_id, t.status_raw, t.event_type, t.occurred_at, h.history_id,
           h.from_status_raw AS load_from_status_raw
    FROM transitions AS t
    JOIN core.status_history AS h ON h.event_id = t.event_id AND h.observed_at = now()
    WHERE t.changed_in_this_load
),
history_refolded AS (
    UPDATE core.status_history AS h
    SET to_status_raw = e.status_raw, to_event_type = e.event_type, occurred_at = e.occurred_at
    FROM earlier AS e
    WHERE h.event_id = e.event_id AND h.history_id = e.history_id
      AND e.status_raw IS DISTINCT FROM e.load_from_status_raw
),
history_unfolded AS (
    DELETE FROM core.status_history AS h
    USING earlier AS e
    WHERE h.event_id = e.event_id AND h.history_id = e.history_id
      AND e.status_raw IS NOT DISTINCT FROM e.load_from_status_raw
),
history_written AS (
    INSERT INTO core.status_history (event_id, source, channel, from_status_raw, to_status_raw,
                                     from_event_type, to_event_type, from_occurred_at, occurred_at,
                                     run_id)
    SELECT t.event_id, t.source, t.channel, t.from_status_raw, t.status_raw, t.from_event_type,
           t.event_type, t.from_occurred_at, t.occurred_at, %(run_id)s
    FROM transitions AS t
    WHERE NOT EXISTS (SELECT 1 FROM earlier AS e WHERE e.event_id = t.event_id)
),
-- The UTC days of every row written (and the day an updated row left), for the marts' refresh.
days_touched AS (
    INSERT INTO ops.mart_dirty_days (day)
    SELECT (at AT TIME ZONE 'UTC')::date
    FROM (SELECT occurred_at FROM events_written
          UNION ALL
          SELECT from_occurred_at FROM updated WHERE from_occurred_at <> occurred_at) AS touched (at)
    GROUP BY 1
)
-- Every data-modifying part runs to completion whether read or not.
SELECT
    (SELECT count(*) FROM written WHERE inserted)                                         AS inserted,
    (SELECT count(*) FROM written WHERE NOT inserted AND NOT new_in_this_load)            AS updated,
    (SELECT coalesce(sum(records), 0) FROM statuses WHERE event_type = 'unknown')         AS unknown_seen
