-- The load's records whose vendor status nobody has mapped yet.
SELECT count(*)
FROM (SELECT DISTINCT record_id, partition_date FROM stage_keys WHERE NOT rejected) AS loaded
-- With its partition day, a record is looked up in its own month, not in every month.
JOIN core.message_events AS e ON e.event_id = loaded.record_id AND e.partition_date = loaded.partition_date
WHERE e.event_type = 'unknown'
