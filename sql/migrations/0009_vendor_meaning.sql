-- depends: 0008_webex_keys
-- Every record as the vendor meant it (issue 11): the status map keyed by channel too, with the
-- contract's new event types and every documented status reviewed against its document; the
-- link from an engagement to the message it belongs to; and what each load left to another
-- day. Rows already loaded are re-typed here; `make migrate` then re-maps the stored raw
-- records with the new mappers (pipelines/remap.py), so nothing is reloaded from the vendors.

INSERT INTO core.event_types (event_type, description) VALUES
    ('subscribed', 'the recipient opted in, or left a do-not-disturb list'),
    ('triggered',  'an event sent through the vendor''s event API that the vendor processed')
ON CONFLICT (event_type) DO NOTHING;
UPDATE core.event_types SET description = 'inbound message from the customer (MO), and nothing else'
WHERE event_type = 'received';

-- One status can mean different things on two channels (CINNOX `Pending`): a row is for one
-- channel, or for every channel of its source ('*'); the channel's own row wins.
ALTER TABLE core.event_type_map DROP CONSTRAINT event_type_map_pkey;
ALTER TABLE core.event_type_map
    ADD COLUMN channel text NOT NULL DEFAULT '*'
        CHECK (channel IN ('*', 'sms', 'mms', 'email', 'whatsapp', 'app_push', 'ussd', 'obd')),
    ADD COLUMN note text;
ALTER TABLE core.event_type_map ADD PRIMARY KEY (source, channel, status_key);
COMMENT ON TABLE core.event_type_map IS
    'Vendor status or interaction type, per source and channel (* = any) -> canonical event_type. '
    'Unmapped statuses load as unknown. note says why, where the vendor''s document is ambiguous.';

-- The canonical type of a status: the channel's own row, else the source's '*' row, else unknown.
CREATE FUNCTION core.event_type_for(source text, channel text, status text) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN coalesce((SELECT m.event_type FROM core.event_type_map AS m
                     WHERE m.source = event_type_for.source
                       AND m.channel IN (event_type_for.channel, '*')
                       AND m.status_key = core.status_key(coalesce(event_type_for.status, ''))
                     ORDER BY m.channel = '*'
                     LIMIT 1), 'unknown');
REVOKE ALL ON FUNCTION core.event_type_for(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION core.event_type_for(text, text, text) TO warehouse_loader;

DELETE FROM core.event_type_map WHERE source IN ('mgage', 'senderguide', 'cinnox', 'webex');

INSERT INTO core.event_type_map (source, channel, status_key, status_raw, event_type, note)
SELECT source, channel, core.status_key(status), status, event_type, note
FROM (VALUES
    -- mGage deliveryStatus (the document: "the same as the Message Reports"; seen in use).
    ('mgage', 'sms', 'Processing',  'queued',      NULL),
    ('mgage', 'sms', 'Sent',        'sent',        NULL),
    ('mgage', 'sms', 'Delivered',   'delivered',   NULL),
    ('mgage', 'sms', 'Undelivered', 'undelivered', NULL),
    ('mgage', 'sms', 'Error',       'failed',      NULL),
    ('mgage', 'sms', 'Received',    'received',    NULL),

    -- SenderGuide interaction types.
    ('senderguide', 'email', 'sends',        'sent',
     'a send is the hand-over to the mail provider; the API reports no delivery'),
    ('senderguide', 'email', 'opens',        'opened',       NULL),
    ('senderguide', 'email', 'clicks',       'clicked',      NULL),
    ('senderguide', 'email', 'bounces',      'bounced',      NULL),
    ('senderguide', 'email', 'unsubscribes', 'unsubscribed', NULL),

    -- CINNOX `status`, per campaign channel (the carrier's own status stays an attribute).
    ('cinnox', 'sms', 'Pending',     'queued',
     'SMS: "ready, and will be sent to the carrier network later"'),
    ('cinnox', 'sms', 'Submitted',   'sent',      NULL),
    ('cinnox', 'sms', 'Delivered',   'delivered', NULL),
    ('cinnox', 'sms', 'Undelivered', 'undelivered',
     'ambiguous: "the carrier network still needs to deliver" (status) but "did not send" '
     '(carrierNetworkStatus); read as not delivered, which a later Delivered overwrites'),
    ('cinnox', 'sms', 'Failed',      'failed',    NULL),
    ('cinnox', 'whatsapp', 'Pending',   'sent',
     'WhatsApp: "successfully sent from CINNOX, waiting to be sent to the recipients"'),
    ('cinnox', 'whatsapp', 'Delivered', 'delivered', NULL),
    ('cinnox', 'whatsapp', 'Read',      'opened',    NULL),
    ('cinnox', 'whatsapp', 'Failed',    'failed',    NULL),

    -- Webex Campaign transaction-status: each string names its channel, so one row serves all.
    ('webex', '*', 'Successfully delivered to the Customer',         'delivered',   NULL),
    ('webex', '*', 'Failed to deliver to the Customer',              'undelivered', NULL),
    ('webex', '*', 'Attempted Send',                                 'sent',        NULL),
    ('webex', '*', 'Attempted Send successfully Pushed to Gateways', 'sent',        NULL),
    ('webex', '*', 'Partial Delivery',                               'undelivered',
     'undocumented; read as not (wholly) delivered, so delivery rates are never inflated'),
    ('webex', '*', 'Expired',                                        'expired',     NULL),
    ('webex', '*', 'Duplicate',                                      'suppressed',
     'not sent again: the same message to the same customer'),
    ('webex', '*', 'Invalid',                                        'failed',      NULL),
    ('webex', '*', 'Notpushed, InternalException',                   'failed',      NULL),
    ('webex', '*', 'Notpushed, GlobalDND',                           'suppressed',  NULL),
    ('webex', '*', 'Notpushed, ChannelDND',                          'suppressed',  NULL),
    ('webex', '*', 'Notpushed, CategoryDND',                         'suppressed',  NULL),
    ('webex', '*', 'Notpushed, CampaignDND',                         'suppressed',  NULL),
    ('webex', '*', 'Notpushed, DeploymentBlackListDND',              'suppressed',  NULL),
    ('webex', '*', 'Notpushed, Controlgroup',                        'suppressed',  NULL),
    ('webex', '*', 'Notpushed, PolicyBreached',                      'suppressed',  NULL),
    ('webex', '*', 'Notpushed, Filtersapplied',                      'suppressed',  NULL),
    ('webex', '*', 'Notpushed, Abandoned',                           'suppressed',  NULL),
    ('webex', '*', 'Notpushed, DeploymentStopped',                   'suppressed',  NULL),
    ('webex', '*', 'Notpushed, Calendartimedout',                    'suppressed',  NULL),
    ('webex', '*', 'Notpushed, Others',                              'suppressed',
     'not pushed for a reason the document does not give: not sent, and not a send failure'),
    ('webex', '*', 'Notpushed, Limit reached',                       'suppressed',  NULL),
    ('webex', '*', 'Notpushed, Runtimefilter',                       'suppressed',  NULL),
    ('webex', '*', 'Email, hardbounced',                             'bounced',     NULL),
    ('webex', '*', 'EmailSoftbounced',                               'bounced',     NULL),
    ('webex', '*', 'Email, Mailblocks',                              'bounced',     NULL),
    ('webex', '*', 'Email, ISPcomplaints',                           'complained',  NULL),
    ('webex', '*', 'DNDAddition',                                    'unsubscribed',
     'the customer joined the do-not-disturb list: an opt-out'),
    ('webex', '*', 'DNDRemoval',                                     'subscribed',
     'the customer left the do-not-disturb list: an opt-in, not a message'),
    ('webex', '*', 'Email Unsubscribe',                              'unsubscribed', NULL),
    ('webex', '*', 'MSISDN Unsubscribe',                             'unsubscribed', NULL),
    ('webex', '*', 'EventProcessedSuccess',                          'triggered',
     'an event we posted through the event API, processed (outbound)'),
    ('webex', '*', 'EventProcessedFailed',                           'failed',
     'an event we posted through the event API that the tenant could not process (outbound)'),
    ('webex', '*', 'MOProcessedSuccess',                             'received',    NULL),
    ('webex', '*', 'MOProcessedFailed',                              'received',
     'the customer''s message arrived; the tenant failed to process it (status_raw says so)'),
    ('webex', '*', 'ActionProcessedSuccess',                         'sent',
     'the tenant ran a configured action (a reply) for the customer'),
    ('webex', '*', 'ActionProcessedFailed',                          'failed',      NULL),
    ('webex', '*', 'Email,Opened',                                   'opened',      NULL),
    ('webex', '*', 'App notification, Opened',                       'opened',      NULL),
    ('webex', '*', 'Landing Page Open',                              'opened',      NULL),
    ('webex', '*', 'Email, LinkClicked',                             'clicked',     NULL),
    ('webex', '*', 'SMS, LinkClicked',                               'clicked',     NULL),
    ('webex', '*', 'MMS, LinkClicked',                               'clicked',     NULL),
    ('webex', '*', 'Click Transaction',                              'clicked',     NULL),
    ('webex', '*', 'USSD, DTMF',                                     'replied',     NULL),
    ('webex', '*', 'Landing Page Submit',                            'replied',     NULL),
    ('webex', '*', 'OBD Success-Completed',                          'delivered',   NULL),
    ('webex', '*', 'OBD Success-In Complete',                        'delivered',
     'the call was answered, though not heard to the end'),
    ('webex', '*', 'OBD Failed -NotAnswered',                        'undelivered', NULL),
    ('webex', '*', 'OBD Failed -Rejected',                           'undelivered', NULL),
    ('webex', '*', 'OBD Failed -Dropped',                            'undelivered', NULL),
    ('webex', '*', 'OBD Failed -Busy',                               'undelivered', NULL),
    ('webex', '*', 'OBD Failed - Out of Reach',                      'undelivered', NULL),
    ('webex', '*', 'OBD Failed - Switched Off',                      'undelivered', NULL),
    ('webex', '*', 'OBD Failed - Others',                            'failed',      NULL),
    ('webex', '*', 'OBD Failed-Number not obtainable',               'failed',      NULL),
    ('webex', '*', 'OBD Failed-Number not in service',               'failed',      NULL)
) AS m(source, channel, status, event_type, note);

-- For a response or an engagement, the vendor's id of the outbound message it belongs to.
ALTER TABLE core.message_events ADD COLUMN linked_message_id text;
COMMENT ON COLUMN core.message_events.linked_message_id IS
    'for a response or engagement, the message_id of the outbound message it belongs to (Webex link-transaction-id)';
CREATE INDEX message_events_linked_idx ON core.message_events (source, linked_message_id)
    WHERE linked_message_id IS NOT NULL;

-- Rows already loaded take the reviewed map now (the re-map that follows rewrites them whole).
UPDATE core.message_events AS e
SET event_type = core.event_type_for(e.source, e.channel, e.status_raw), loaded_at = now()
WHERE e.event_type IS DISTINCT FROM core.event_type_for(e.source, e.channel, e.status_raw);

-- Records a daily load fetched that belong to another day (vendors' windows are not exact):
-- kept per load, so that "every fetched record landed" holds for every source.
ALTER TABLE ops.partition_loads ADD COLUMN out_of_window bigint NOT NULL DEFAULT 0;

-- Analysts see the link too; engagement joins the message it belongs to.
CREATE OR REPLACE VIEW marts.message_events AS
SELECT event_id, source, channel, direction, event_type, status_raw, occurred_at,
       recipient_pseudonym, campaign_id, campaign_name, message_id, error_code, error_reason,
       attributes - 'msg_preview_url' - 'customer_id' AS attributes,
       partition_date, sandbox, first_loaded_at, loaded_at, linked_message_id
FROM core.message_events;

-- A message is the vendor's message id where it has one (an engagement counts for the message
-- it links to), else the event itself (mGage SMS): the latest thing that happened to it.
DROP VIEW marts.recipient_message_status;
CREATE VIEW marts.recipient_message_status AS
SELECT DISTINCT ON (source, recipient, coalesce(linked_message_id, message_id, event_id))
       source, channel, direction, recipient_pseudonym,
       coalesce(linked_message_id, message_id, event_id) AS message_key,
       campaign_id, campaign_name,
       event_type                     AS latest_event_type,
       status_raw                     AS latest_status_raw,
       occurred_at                    AS latest_at,
       sandbox
FROM core.message_events
ORDER BY source, recipient, coalesce(linked_message_id, message_id, event_id), occurred_at DESC, event_id;
COMMENT ON VIEW marts.recipient_message_status IS
    'Per recipient (by pseudonym) and message: the latest thing that happened to it, engagement '
    '(opens, clicks, replies linked to it) included, as last reported by the vendor.';
GRANT SELECT ON marts.recipient_message_status, marts.message_events TO warehouse_loader, analyst;
