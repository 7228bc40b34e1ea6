-- depends: 0004_raw_and_ops
-- SenderGuide, CINNOX and Webex: landing tables, Webex load state, and every documented status.

CREATE TABLE raw.senderguide_interactions (
    record_id       text        COLLATE "C" PRIMARY KEY,
    partition_date  date        NOT NULL,
    context         jsonb       NOT NULL,
    payload         jsonb       NOT NULL,
    first_loaded_at timestamptz NOT NULL DEFAULT now(),
    loaded_at       timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE raw.senderguide_interactions IS 'SenderGuide interaction-data rows as received; context holds message id and interaction type';
CREATE INDEX senderguide_interactions_partition_brin ON raw.senderguide_interactions USING brin (partition_date);

CREATE TABLE raw.cinnox_campaign_recipients (
    record_id       text        COLLATE "C" PRIMARY KEY,
    partition_date  date        NOT NULL,
    context         jsonb       NOT NULL,
    payload         jsonb       NOT NULL,
    first_loaded_at timestamptz NOT NULL DEFAULT now(),
    loaded_at       timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE raw.cinnox_campaign_recipients IS 'CINNOX sent-campaign detail rows (one per recipient); context holds the summary''s campaign';
CREATE INDEX cinnox_campaign_recipients_partition_brin ON raw.cinnox_campaign_recipients USING brin (partition_date);

CREATE TABLE raw.webex_transactions (
    record_id       text        COLLATE "C" PRIMARY KEY,
    partition_date  date        NOT NULL,
    context         jsonb       NOT NULL,
    payload         jsonb       NOT NULL,
    first_loaded_at timestamptz NOT NULL DEFAULT now(),
    loaded_at       timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE raw.webex_transactions IS 'Webex Campaign customer transactions as received; context holds the customer key asked for';
CREATE INDEX webex_transactions_partition_brin ON raw.webex_transactions USING brin (partition_date);

-- Webex is pulled per customer key from a watermark, not by day: the tenant-local day up to
-- which the key's transactions are loaded. It commits with the rows it covers.
CREATE TABLE ops.webex_key_state (
    key            text        PRIMARY KEY,
    loaded_through date        NOT NULL,
    run_id         text,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- Days on which a key had more transactions than one answer can carry (count=50 and a single
-- day cannot be split further): what was loaded is incomplete, and says so here.
CREATE TABLE ops.webex_truncations (
    key         text        NOT NULL,
    local_date  date        NOT NULL,
    returned    integer     NOT NULL,
    run_id      text,
    detected_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (key, local_date)
);

INSERT INTO core.event_type_map (source, status_key, status_raw, event_type)
SELECT source, core.status_key(status), status, event_type
FROM (VALUES
    -- SenderGuide interaction types
    ('senderguide', 'sends',        'sent'),
    ('senderguide', 'opens',        'opened'),
    ('senderguide', 'clicks',       'clicked'),
    ('senderguide', 'bounces',      'bounced'),
    ('senderguide', 'unsubscribes', 'unsubscribed'),
    -- CINNOX SMS and WhatsApp statuses, and the carrier's
    ('cinnox', 'Pending',     'queued'),
    ('cinnox', 'Submitted',   'sent'),
    ('cinnox', 'Delivered',   'delivered'),
    ('cinnox', 'Undelivered', 'undelivered'),
    ('cinnox', 'Failed',      'failed'),
    ('cinnox', 'Read',        'opened'),
    ('cinnox', 'Queued',      'queued'),
    -- Webex Campaign transaction-status, as documented
    ('webex', 'Successfully delivered to the Customer',         'delivered'),
    ('webex', 'Failed to deliver to the Customer',              'undelivered'),
    ('webex', 'Attempted Send',                                 'sent'),
    ('webex', 'Attempted Send successfully Pushed to Gateways', 'sent'),
    ('webex', 'Partial Delivery',                               'delivered'),
    ('webex', 'Expired',                                        'expired'),
    ('webex', 'Duplicate',                                      'suppressed'),
    ('webex', 'Invalid',                                        'failed'),
    ('webex', 'Notpushed, InternalException',                   'failed'),
    ('webex', 'Notpushed, GlobalDND',                           'suppressed'),
    ('webex', 'Notpushed, ChannelDND',                          'suppressed'),
    ('webex', 'Notpushed, CategoryDND',                         'suppressed'),
    ('webex', 'Notpushed, CampaignDND',                         'suppressed'),
    ('webex', 'Notpushed, DeploymentBlackListDND',              'suppressed'),
    ('webex', 'Notpushed, Controlgroup',                        'suppressed'),
    ('webex', 'Notpushed, PolicyBreached',                      'suppressed'),
    ('webex', 'Notpushed, Filtersapplied',                      'suppressed'),
    ('webex', 'Notpushed, Abandoned',                           'suppressed'),
    ('webex', 'Notpushed, DeploymentStopped',                   'suppressed'),
    ('webex', 'Notpushed, Calendartimedout',                    'suppressed'),
    ('webex', 'Notpushed, Others',                              'suppressed'),
    ('webex', 'Notpushed, Limit reached',                       'suppressed'),
    ('webex', 'Notpushed, Runtimefilter',                       'suppressed'),
    ('webex', 'Email, hardbounced',                             'bounced'),
    ('webex', 'EmailSoftbounced',                               'bounced'),
    ('webex', 'Email, Mailblocks',                              'bounced'),
    ('webex', 'Email, ISPcomplaints',                           'complained'),
    ('webex', 'DNDAddition',                                    'unsubscribed'),
    -- the customer left the do-not-disturb list: an inbound opt-in, not a message state
    ('webex', 'DNDRemoval',                                     'received'),
    ('webex', 'Email Unsubscribe',                              'unsubscribed'),
    ('webex', 'MSISDN Unsubscribe',                             'unsubscribed'),
    ('webex', 'EventProcessedSuccess',                          'received'),
    ('webex', 'EventProcessedFailed',                           'failed'),
    ('webex', 'MOProcessedSuccess',                             'received'),
    ('webex', 'MOProcessedFailed',                              'failed'),
    ('webex', 'ActionProcessedSuccess',                         'sent'),
    ('webex', 'ActionProcessedFailed',                          'failed'),
    ('webex', 'Email,Opened',                                   'opened'),
    ('webex', 'App notification, Opened',                       'opened'),
    ('webex', 'Landing Page Open',                              'opened'),
    ('webex', 'Email, LinkClicked',                             'clicked'),
    ('webex', 'SMS, LinkClicked',                               'clicked'),
    ('webex', 'MMS, LinkClicked',                               'clicked'),
    ('webex', 'Click Transaction',                              'clicked'),
    ('webex', 'USSD, DTMF',                                     'replied'),
    ('webex', 'Landing Page Submit',                            'replied'),
    ('webex', 'OBD Success-Completed',                          'delivered'),
    ('webex', 'OBD Success-In Complete',                        'delivered'),
    ('webex', 'OBD Failed -NotAnswered',                        'undelivered'),
    ('webex', 'OBD Failed -Rejected',                           'undelivered'),
    ('webex', 'OBD Failed -Dropped',                            'undelivered'),
    ('webex', 'OBD Failed -Busy',                               'undelivered'),
    ('webex', 'OBD Failed - Out of Reach',                      'undelivered'),
    ('webex', 'OBD Failed - Switched Off',                      'undelivered'),
    ('webex', 'OBD Failed - Others',                            'failed'),
    ('webex', 'OBD Failed-Number not obtainable',               'failed'),
    ('webex', 'OBD Failed-Number not in service',               'failed')
) AS m(source, status, event_type);
