-- The load's records whose vendor status nobody has mapped yet.
SELECT count(*)
FROM (SELECT DISTINCT record_id FROM stage_keys WHERE NOT rejected) AS loaded
JOIN core.message_events AS e ON e.event_id = loaded.record_id
WHERE e.event_type = 'unknown'
