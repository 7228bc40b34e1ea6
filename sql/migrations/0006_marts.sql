-- depends: 0005_sources
-- The first marts: where analysts and dashboards start. Views over core.message_events, so
-- they are always exactly as fresh as the core table.

CREATE VIEW marts.daily_events AS
SELECT (e.occurred_at AT TIME ZONE 'UTC')::date AS event_date,
       e.source, e.channel, e.direction, e.event_type, e.campaign_id,
       max(e.campaign_name)                     AS campaign_name,
       count(*)                                 AS events,
       count(DISTINCT e.recipient)              AS recipients
FROM core.message_events AS e
GROUP BY 1, 2, 3, 4, 5, 6;
COMMENT ON VIEW marts.daily_events IS
    'Events per UTC day, source, channel, direction, event type and campaign.';

-- A recipient counts once per stage of a campaign's funnel, whichever events got them there:
-- a click implies an open, an open implies delivery. Queued, suppressed and inbound events
-- are not sends.
CREATE VIEW marts.campaign_performance AS
WITH recipients AS (
    SELECT source, channel, campaign_id, recipient,
           max(campaign_name) AS campaign_name,
           count(*) AS events,
           bool_or(event_type IN ('sent', 'delivered', 'undelivered', 'failed', 'expired', 'bounced',
                                  'opened', 'clicked', 'complained', 'replied')) AS sent,
           bool_or(event_type IN ('delivered', 'opened', 'clicked', 'replied')) AS delivered,
           bool_or(event_type IN ('failed', 'undelivered', 'expired', 'bounced')) AS failed,
           bool_or(event_type IN ('opened', 'clicked')) AS opened,
           bool_or(event_type = 'clicked') AS clicked,
           min(occurred_at) AS first_at,
           max(occurred_at) AS last_at
    FROM core.message_events
    WHERE direction = 'outbound'
    GROUP BY source, channel, campaign_id, recipient
)
SELECT source, channel, campaign_id,
       max(campaign_name)                                          AS campaign_name,
       min(first_at)                                               AS first_event_at,
       max(last_at)                                                AS last_event_at,
       sum(events)                                                 AS events,
       count(*) FILTER (WHERE sent)                                AS sent,
       count(*) FILTER (WHERE delivered)                           AS delivered,
       count(*) FILTER (WHERE failed AND NOT delivered)            AS failed,
       count(*) FILTER (WHERE opened)                              AS opened,
       count(*) FILTER (WHERE clicked)                             AS clicked,
       round(count(*) FILTER (WHERE delivered)::numeric
             / nullif(count(*) FILTER (WHERE sent), 0), 4)         AS delivery_rate,
       round(count(*) FILTER (WHERE opened)::numeric
             / nullif(count(*) FILTER (WHERE delivered), 0), 4)    AS open_rate
FROM recipients
GROUP BY source, channel, campaign_id;
COMMENT ON VIEW marts.campaign_performance IS
    'Per campaign: recipients sent, delivered, failed, opened and clicked, with delivery rate '
    '(delivered / sent) and open rate (opened / delivered).';

-- A message is the vendor's message id where it has one (SenderGuide email, CINNOX sent
-- campaign, Webex transaction), else the event itself (mGage SMS).
CREATE VIEW marts.recipient_message_status AS
SELECT DISTINCT ON (source, recipient, coalesce(message_id, event_id))
       source, channel, direction, recipient,
       coalesce(message_id, event_id) AS message_key,
       campaign_id, campaign_name,
       event_type                     AS latest_event_type,
       status_raw                     AS latest_status_raw,
       occurred_at                    AS latest_at
FROM core.message_events
ORDER BY source, recipient, coalesce(message_id, event_id), occurred_at DESC, event_id;
COMMENT ON VIEW marts.recipient_message_status IS
    'Per recipient and message: the latest status, as last reported by the vendor.';
