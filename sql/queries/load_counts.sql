-- Totals of a load, read at its end inside its transaction, over the records it staged.
-- now() is the transaction's start, so rows it created or changed are recognizable by their
-- timestamps.
WITH loaded AS (SELECT DISTINCT record_id FROM stage_keys WHERE NOT rejected)
SELECT
    (SELECT count(*) FROM loaded)                                         AS distinct_records,
    count(*) FILTER (WHERE e.first_loaded_at = now())                     AS inserted,
    count(*) FILTER (WHERE e.loaded_at = now() AND e.first_loaded_at < now()) AS updated,
    count(*) FILTER (WHERE e.event_type = 'unknown')                      AS unknown_status
FROM loaded
JOIN core.message_events AS e ON e.event_id = loaded.record_id
