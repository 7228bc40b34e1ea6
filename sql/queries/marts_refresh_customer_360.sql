-- One row per recipient with events on the days to recompute, from all of their events: their
-- activity in brief, and their latest event on each channel. Recipients by pseudonym only.
DELETE FROM marts.customer_360 AS c
USING refresh_recipients AS r
WHERE c.recipient_pseudonym = r.recipient_pseudonym;

INSERT INTO marts.customer_360 (
    recipient_pseudonym, sandbox, sources, channels, events, first_activity_at, last_activity_at,
    last_outbound_at, last_inbound_at, last_engagement_at, last_opt_out_at, last_opt_out_channel,
    last_opt_in_at,
    sms_last_at, sms_last_event_type, sms_last_campaign_name,
    mms_last_at, mms_last_event_type, mms_last_campaign_name,
    email_last_at, email_last_event_type, email_last_campaign_name,
    whatsapp_last_at, whatsapp_last_event_type, whatsapp_last_campaign_name,
    app_push_last_at, app_push_last_event_type, app_push_last_campaign_name,
    ussd_last_at, ussd_last_event_type, ussd_last_campaign_name,
    obd_last_at, obd_last_event_type, obd_last_campaign_name)
WITH events AS (
    SELECT e.event_id, e.recipient, e.recipient_pseudonym, e.source, e.channel, e.direction,
           e.event_type, e.occurred_at, e.campaign_name, e.sandbox,
           e.event_type = 'unsubscribed' OR s.event_id IS NOT NULL AS opt_out
    FROM refresh_recipients AS r
    JOIN core.message_events AS e ON e.recipient = r.recipient
    LEFT JOIN core.stop_replies AS s ON s.event_id = e.event_id
    WHERE r.recipient_pseudonym IS NOT NULL
),
-- A recipient has one latest event per channel, so each per-channel max below reads one row.
latest AS (
    SELECT DISTINCT ON (recipient, channel) recipient, channel, occurred_at, event_type, campaign_name
    FROM events
    ORDER BY recipient, channel, occurred_at DESC, event_id DESC
),
per_channel AS (
    SELECT recipient,
           max(occurred_at) FILTER (WHERE channel = 'sms') AS sms_last_at,
           max(event_type) FILTER (WHERE channel = 'sms') AS sms_last_event_type,
           max(campaign_name) FILTER (WHERE channel = 'sms') AS sms_last_campaign_name,
           max(occurred_at) FILTER (WHERE channel = 'mms') AS mms_last_at,
           max(event_type) FILTER (WHERE channel = 'mms') AS mms_last_event_type,
           max(campaign_name) FILTER (WHERE channel = 'mms') AS mms_last_campaign_name,
           max(occurred_at) FILTER (WHERE channel = 'email') AS email_last_at,
           max(event_type) FILTER (WHERE channel = 'email') AS email_last_event_type,
           max(campaign_name) FILTER (WHERE channel = 'email') AS email_last_campaign_name,
           max(occurred_at) FILTER (WHERE channel = 'whatsapp') AS whatsapp_last_at,
           max(event_type) FILTER (WHERE channel = 'whatsapp') AS whatsapp_last_event_type,
           max(campaign_name) FILTER (WHERE channel = 'whatsapp') AS whatsapp_last_campaign_name,
           max(occurred_at) FILTER (WHERE channel = 'app_push') AS app_push_last_at,
           max(event_type) FILTER (WHERE channel = 'app_push') AS app_push_last_event_type,
           max(campaign_name) FILTER (WHERE channel = 'app_push') AS app_push_last_campaign_name,
           max(occurred_at) FILTER (WHERE channel = 'ussd') AS ussd_last_at,
           max(event_type) FILTER (WHERE channel = 'ussd') AS ussd_last_event_type,
           max(campaign_name) FILTER (WHERE channel = 'ussd') AS ussd_last_campaign_name,
           max(occurred_at) FILTER (WHERE channel = 'obd') AS obd_last_at,
           max(event_type) FILTER (WHERE channel = 'obd') AS obd_last_event_type,
           max(campaign_name) FILTER (WHERE channel = 'obd') AS obd_last_campaign_name
    FROM latest
    GROUP BY recipient
),
summary AS (
    SELECT recipient, max(recipient_pseudonym) AS recipient_pseudonym, bool_and(sandbox) AS sandbox,
           array_agg(DISTINCT source ORDER BY source) AS sources,
           array_agg(DISTINCT channel ORDER BY channel) AS channels,
           count(*) AS events, min(occurred_at) AS first_activity_at, max(occurred_at) AS last_activity_at,
           max(occurred_at) FILTER (WHERE direction = 'outbound') AS last_outbound_at,
           max(occurred_at) FILTER (WHERE direction = 'inbound') AS last_inbound_at,
           max(occurred_at) FILTER (WHERE event_type IN ('opened', 'clicked', 'replied')) AS last_engagement_at,
           max(occurred_at) FILTER (WHERE opt_out) AS last_opt_out_at,
           (array_agg(channel ORDER BY occurred_at DESC, event_id DESC) FILTER (WHERE opt_out))[1]
               AS last_opt_out_channel,
           max(occurred_at) FILTER (WHERE event_type = 'subscribed') AS last_opt_in_at
    FROM events
    GROUP BY recipient
)
SELECT s.recipient_pseudonym, s.sandbox, s.sources, s.channels, s.events, s.first_activity_at,
       s.last_activity_at, s.last_outbound_at, s.last_inbound_at, s.last_engagement_at,
       s.last_opt_out_at, s.last_opt_out_channel, s.last_opt_in_at,
       c.sms_last_at, c.sms_last_event_type, c.sms_last_campaign_name,
       c.mms_last_at, c.mms_last_event_type, c.mms_last_campaign_name,
       c.email_last_at, c.email_last_event_type, c.email_last_campaign_name,
       c.whatsapp_last_at, c.whatsapp_last_event_type, c.whatsapp_last_campaign_name,
       c.app_push_last_at, c.app_push_last_event_type, c.app_push_last_campaign_name,
       c.ussd_last_at, c.ussd_last_event_type, c.ussd_last_campaign_name,
       c.obd_last_at, c.obd_last_event_type, c.obd_last_campaign_name
FROM summary AS s
JOIN per_channel AS c USING (recipient)
