-- A fresh load's records whose vendor status nobody has mapped yet: its days held nothing
-- before it, so every event of the source on them is the load's.
SELECT count(*)
FROM core.message_events
WHERE source = %(source)s AND partition_date = %(day)s AND event_type = 'unknown'
