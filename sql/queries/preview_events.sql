-- A small sample of a source's most recently written events, for the run's metadata. No
-- recipient: personal data stays in the warehouse. Only the partition days the run loaded are
-- read (their months alone): over every month, the sort by load time grew with the warehouse.
SELECT occurred_at, channel, direction, event_type, status_raw, campaign_id
FROM core.message_events
WHERE source = :source AND partition_date BETWEEN :first AND :last
ORDER BY loaded_at DESC, occurred_at DESC
LIMIT 10
