-- Send, delivery and first-engagement times of the messages with events on the days to
-- recompute, each from all of its events and their status history.
--
-- A message is the outbound events sharing a source, recipient and message key (the vendor's
-- message id, or the event itself; a follow-up such as a Webex open names its message by
-- linked_message_id), as in marts.recipient_message_status. Its send is the earliest of them
-- that is one: not a follow-up naming another message, and first seen as a send's status
-- (queued, sent, ... bounced), or a CINNOX recipient row, which carries its own send time.
--
-- When a status happened, where it is known:
-- - a follow-up event's first status: its own time (each is its own vendor record);
-- - the send's first status: the vendor's time where it dates statuses apart from the send
--   (CINNOX: occurred_at is lastUpdatedDateTime, the send time is attributes.sent_at), else
--   unknown (mGage, Webex: a message first seen already delivered has no delivery time, even
--   if a later open dates it: it was delivered before);
-- - a change (core.status_history): the vendor's time where occurred_at moved with the status,
--   else when the load that saw it ran (an upper bound: it happened since the load before);
-- - none before the send.
-- Statuses are read through the current map (core.event_type_for), as core is.

-- The campaigns whose percentiles change: those of the rows replaced, and (below) of the new.
INSERT INTO refresh_campaigns (source, channel, campaign_id)
SELECT DISTINCT l.source, l.channel, l.campaign_id
FROM marts.message_latency AS l
JOIN refresh_messages AS m
  ON m.source = l.source AND m.recipient_pseudonym = l.recipient_pseudonym
 AND m.message_key = l.message_key;

DELETE FROM marts.message_latency AS l
USING refresh_messages AS m
WHERE m.source = l.source AND m.recipient_pseudonym = l.recipient_pseudonym
  AND m.message_key = l.message_key;

INSERT INTO marts.message_latency (
    event_id, source, channel, campaign_id, campaign_name, recipient_pseudonym, message_key,
    time_zone, day, sent_at, delivered, delivered_at, delivery_time_basis, seconds_to_delivery,
    engaged, first_engaged_at, engagement_time_basis, seconds_to_first_engagement,
    current_event_type, transitions, sandbox)
WITH members AS (
    SELECT e.event_id, e.source, e.channel, e.campaign_id, e.campaign_name, e.recipient_pseudonym,
           m.recipient, m.message_key, e.linked_message_id, e.status_raw, e.event_type,
           e.occurred_at, e.sandbox, (e.attributes ->> 'sent_at')::timestamptz AS vendor_sent_at
    FROM refresh_messages AS m
    JOIN core.message_events AS e
      ON e.recipient = m.recipient AND e.source = m.source
     AND coalesce(e.linked_message_id, e.message_id, e.event_id) = m.message_key
    WHERE e.direction = 'outbound'
),
changes AS (
    SELECT b.source, b.recipient, b.message_key, b.channel, h.event_id, h.history_id,
           h.observed_at, h.from_status_raw, h.to_status_raw, h.from_occurred_at, h.occurred_at
    FROM members AS b
    JOIN core.status_history AS h ON h.event_id = b.event_id
),
first_changes AS (
    SELECT DISTINCT ON (event_id) event_id, from_status_raw, from_occurred_at
    FROM changes
    ORDER BY event_id, observed_at, history_id
),
firsts AS (
    SELECT b.*,
           CASE WHEN f.event_id IS NULL THEN b.status_raw ELSE f.from_status_raw END AS first_status_raw,
           coalesce(f.from_occurred_at, b.occurred_at) AS first_occurred_at
    FROM members AS b
    LEFT JOIN first_changes AS f ON f.event_id = b.event_id
),
types AS (
    SELECT source, channel, status, core.event_type_for(source, channel, status) AS event_type
    FROM (SELECT source, channel, coalesce(first_status_raw, '') FROM firsts
          UNION
          SELECT source, channel, coalesce(to_status_raw, '') FROM changes) AS s (source, channel, status)
),
sends AS (
    SELECT DISTINCT ON (f.source, f.recipient, f.message_key)
           f.*, coalesce(f.vendor_sent_at, f.first_occurred_at) AS sent_at
    FROM firsts AS f
    JOIN types AS t
      ON t.source = f.source AND t.channel = f.channel AND t.status = coalesce(f.first_status_raw, '')
    WHERE f.linked_message_id IS NULL
      AND (f.vendor_sent_at IS NOT NULL
           OR t.event_type IN ('queued', 'sent', 'delivered', 'undelivered', 'failed', 'expired',
                               'suppressed', 'triggered', 'bounced'))
    ORDER BY f.source, f.recipient, f.message_key, f.first_occurred_at, f.event_id
),
points AS (
    SELECT f.source, f.recipient, f.message_key, f.channel, f.first_status_raw AS status_raw,
           f.event_id = s.event_id AS first_of_send,
           CASE WHEN f.event_id <> s.event_id OR f.vendor_sent_at IS NOT NULL
                THEN f.first_occurred_at END AS at,
           'vendor' AS basis, s.sent_at
    FROM firsts AS f
    JOIN sends AS s ON s.source = f.source AND s.recipient = f.recipient AND s.message_key = f.message_key
    UNION ALL
    SELECT c.source, c.recipient, c.message_key, c.channel, c.to_status_raw, false,
           CASE WHEN c.occurred_at <> c.from_occurred_at THEN c.occurred_at ELSE c.observed_at END,
           CASE WHEN c.occurred_at <> c.from_occurred_at THEN 'vendor' ELSE 'observed' END,
           s.sent_at
    FROM changes AS c
    JOIN sends AS s ON s.source = c.source AND s.recipient = c.recipient AND s.message_key = c.message_key
),
-- A time before the send is no time for it (a vendor's clock, a status seen before the time
-- its send is dated): unknown, as is its basis.
known AS (
    SELECT source, recipient, message_key, channel, status_raw, first_of_send,
           CASE WHEN at >= sent_at THEN at END AS at,
           CASE WHEN at >= sent_at THEN basis END AS basis
    FROM points
),
typed AS (
    SELECT p.source, p.recipient, p.message_key, p.first_of_send, p.at, p.basis,
           t.event_type IN ('delivered', 'opened', 'clicked', 'replied') AS delivered,
           t.event_type IN ('opened', 'clicked', 'replied') AS engaged
    FROM known AS p
    JOIN types AS t
      ON t.source = p.source AND t.channel = p.channel AND t.status = coalesce(p.status_raw, '')
),
-- The first point that reached the state: the send's first status when it already had (its
-- time, if known), else the earliest known one.
outcomes AS (
    SELECT source, recipient, message_key,
           bool_or(delivered) AS delivered,
           (array_agg(at ORDER BY first_of_send DESC, at) FILTER (WHERE delivered))[1] AS delivered_at,
           (array_agg(basis ORDER BY first_of_send DESC, at) FILTER (WHERE delivered))[1] AS delivery_basis,
           bool_or(engaged) AS engaged,
           (array_agg(at ORDER BY first_of_send DESC, at) FILTER (WHERE engaged))[1] AS engaged_at,
           (array_agg(basis ORDER BY first_of_send DESC, at) FILTER (WHERE engaged))[1] AS engagement_basis
    FROM typed
    GROUP BY source, recipient, message_key
),
transitions AS (
    SELECT event_id, count(*) AS transitions FROM changes GROUP BY event_id
)
SELECT s.event_id, s.source, s.channel, s.campaign_id, s.campaign_name, s.recipient_pseudonym,
       s.message_key, z.time_zone, (s.sent_at AT TIME ZONE z.time_zone)::date, s.sent_at,
       o.delivered, o.delivered_at, o.delivery_basis,
       extract(epoch FROM o.delivered_at - s.sent_at)::double precision,
       o.engaged, o.engaged_at, o.engagement_basis,
       extract(epoch FROM o.engaged_at - s.sent_at)::double precision,
       s.event_type, coalesce(n.transitions, 0), s.sandbox
FROM sends AS s
JOIN outcomes AS o ON o.source = s.source AND o.recipient = s.recipient AND o.message_key = s.message_key
CROSS JOIN refresh_zone AS z
LEFT JOIN transitions AS n ON n.event_id = s.event_id;

INSERT INTO refresh_campaigns (source, channel, campaign_id)
SELECT DISTINCT l.source, l.channel, l.campaign_id
FROM marts.message_latency AS l
JOIN refresh_messages AS m
  ON m.source = l.source AND m.recipient_pseudonym = l.recipient_pseudonym
 AND m.message_key = l.message_key;

ANALYZE refresh_campaigns
