-- Customers whose SMS failed (or was not delivered) at least once in the last 7 days, with
-- how many failed, when the last one did, and its campaign: the fallback journey's wording.
SELECT recipient AS event_key,
       count(*) AS failed_messages,
       to_char(max(occurred_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS last_failure_at,
       coalesce((array_agg(campaign_name ORDER BY occurred_at DESC)
                 FILTER (WHERE campaign_name IS NOT NULL))[1], 'our message') AS last_campaign
FROM core.message_events
WHERE channel = 'sms'
  AND direction = 'outbound'
  AND event_type IN ('failed', 'undelivered')
  AND recipient IS NOT NULL
  AND occurred_at >= %(now)s - interval '7 days'
  AND occurred_at <= %(now)s
  AND sandbox = %(sandbox)s
GROUP BY recipient
