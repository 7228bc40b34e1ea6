-- Failures of the reporting zone's days to recompute, by how they failed, against every
-- message of the day on the same source, channel and network. A message is counted once
-- however many of its events say so: its key is the vendor's message id (or the event), as in
-- marts.recipient_message_status, so a SenderGuide bounce and its send are one message.
DELETE FROM marts.failures_daily AS f
USING refresh_days AS d
WHERE d.reporting AND f.time_zone = d.time_zone AND f.day = d.day;

INSERT INTO marts.failures_daily (time_zone, day, source, channel, network, carrier_status,
                                  event_type, status_raw, error_code, error_reason, sandbox,
                                  failures, messages, failure_rate)
WITH outbound AS (
    SELECT d.time_zone, d.day, e.source, e.channel, e.sandbox, e.event_type, e.status_raw,
           e.error_code, e.error_reason,
           e.attributes ->> 'network' AS network,
           e.attributes ->> 'carrier_network_status' AS carrier_status,
           e.recipient || chr(31) || coalesce(e.linked_message_id, e.message_id, e.event_id) AS message
    FROM refresh_days AS d
    JOIN core.message_events AS e ON e.occurred_at >= d.starts_at AND e.occurred_at < d.ends_at
    WHERE d.reporting AND e.direction = 'outbound'
),
messages AS (
    SELECT time_zone, day, source, channel, network, sandbox, count(DISTINCT message) AS messages
    FROM outbound
    GROUP BY time_zone, day, source, channel, network, sandbox
),
failures AS (
    SELECT time_zone, day, source, channel, network, carrier_status, event_type, status_raw,
           error_code, error_reason, sandbox, count(DISTINCT message) AS failures
    FROM outbound
    WHERE event_type IN ('failed', 'undelivered', 'expired', 'bounced')
    GROUP BY time_zone, day, source, channel, network, carrier_status, event_type, status_raw,
             error_code, error_reason, sandbox
)
-- Every day, source, channel and network with messages has its rows: one per way its messages
-- failed, or one without failure details (failures 0), so the denominators are all there.
SELECT m.time_zone, m.day, m.source, m.channel, m.network, f.carrier_status, f.event_type,
       f.status_raw, f.error_code, f.error_reason, m.sandbox, coalesce(f.failures, 0), m.messages,
       round(coalesce(f.failures, 0)::numeric / m.messages, 4)
FROM messages AS m
LEFT JOIN failures AS f
  ON f.time_zone = m.time_zone AND f.day = m.day AND f.source = m.source
 AND f.channel = m.channel AND f.sandbox = m.sandbox AND f.network IS NOT DISTINCT FROM m.network
