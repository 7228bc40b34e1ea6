-- Inbound messages of the days to recompute whose body is a stop word (core.stop_words; case
-- and every space ignored), classified while the body is kept: core.stop_replies outlives the
-- body, which retention removes. Only mGage reports inbound bodies (raw payload `body`); no
-- body leaves this statement.
INSERT INTO core.stop_replies (event_id)
SELECT e.event_id
FROM refresh_days AS d
JOIN core.message_events AS e ON e.occurred_at >= d.starts_at AND e.occurred_at < d.ends_at
JOIN raw.mgage_messages AS r ON r.record_id = e.event_id
WHERE d.time_zone = 'UTC' AND e.source = 'mgage' AND e.direction = 'inbound'
  AND upper(regexp_replace(r.payload ->> 'body', '\s', '', 'g')) IN (SELECT word FROM core.stop_words)
ON CONFLICT (event_id) DO NOTHING
