-- The messages (source, recipient, message key) and recipients whose events the marking loads
-- wrote: their rows are recomputed from all of their events, whatever day those fall on. A
-- load's rows carry its transaction's time as loaded_at, which is its marks' marked_at, so an
-- hourly load of a busy day recomputes the recipients it touched, not the whole day's (a full
-- refresh: every event of every day).
-- (The scope's tables are analyzed as they fill, so that the joins below probe the events'
-- time index per day.)
ANALYZE refresh_days;

INSERT INTO refresh_messages (source, recipient, recipient_pseudonym, message_key)
SELECT DISTINCT e.source, e.recipient, e.recipient_pseudonym,
       coalesce(e.linked_message_id, e.message_id, e.event_id)
FROM refresh_days AS d
JOIN core.message_events AS e ON e.occurred_at >= d.starts_at AND e.occurred_at < d.ends_at
WHERE d.time_zone = 'UTC' AND e.direction = 'outbound'
  AND (e.loaded_at IN (SELECT marked_at FROM refresh_marks)
       OR EXISTS (SELECT 1 FROM refresh_marks WHERE marked_at IS NULL));

INSERT INTO refresh_recipients (recipient, recipient_pseudonym)
SELECT DISTINCT e.recipient, e.recipient_pseudonym
FROM refresh_days AS d
JOIN core.message_events AS e ON e.occurred_at >= d.starts_at AND e.occurred_at < d.ends_at
WHERE d.time_zone = 'UTC'
  AND (e.loaded_at IN (SELECT marked_at FROM refresh_marks)
       OR EXISTS (SELECT 1 FROM refresh_marks WHERE marked_at IS NULL));

ANALYZE refresh_messages;
ANALYZE refresh_recipients
