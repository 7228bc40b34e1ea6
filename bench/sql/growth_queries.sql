-- name: last 7 days by source and channel
SELECT source, channel, event_type, count(*)
FROM marts.message_events
WHERE partition_date > %(day)s::date - 7
GROUP BY 1, 2, 3;
-- name: one recipient's history (last 90 days)
SELECT occurred_at, source, channel, event_type, campaign_name
FROM marts.message_events
WHERE recipient_pseudonym = %(pseudonym)s AND partition_date > %(day)s::date - 90
ORDER BY occurred_at DESC;
-- name: one campaign's funnel
SELECT event_type, count(*), count(DISTINCT recipient_pseudonym)
FROM marts.message_events
WHERE source = 'mgage' AND campaign_id = %(campaign)s
GROUP BY 1;
