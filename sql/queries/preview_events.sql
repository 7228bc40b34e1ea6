-- A small sample of a source's normalized events over a range of partitions.
SELECT occurred_at, channel, direction, event_type, status_raw, recipient, campaign_id
FROM core.message_events
WHERE source = :source AND partition_date BETWEEN :first_day AND :last_day
ORDER BY occurred_at DESC
LIMIT 10
