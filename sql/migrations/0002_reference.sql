-- depends: 0001_schemas
-- Canonical vocabularies and the vendor-status mapping, kept as data so that a new status
-- is a row, not a code change.

CREATE TABLE core.event_types (
    event_type  text PRIMARY KEY,
    description text NOT NULL
);

INSERT INTO core.event_types (event_type, description) VALUES
    ('queued',       'accepted by the vendor, not yet handed to a carrier or provider'),
    ('sent',         'handed to the carrier / provider, delivery not yet confirmed'),
    ('delivered',    'confirmed delivered to the recipient''s device or mailbox'),
    ('undelivered',  'the carrier or provider could not deliver it'),
    ('failed',       'the vendor could not send it'),
    ('suppressed',   'deliberately not sent: opt-out, DND, policy, control group, filters'),
    ('expired',      'validity period ran out before delivery'),
    ('received',     'inbound message from the customer (MO)'),
    ('opened',       'the recipient opened or read it'),
    ('clicked',      'the recipient clicked a link in it'),
    ('bounced',      'email bounce, hard or soft'),
    ('complained',   'the recipient marked it as spam'),
    ('unsubscribed', 'the recipient opted out in response to it'),
    ('replied',      'the recipient responded to it'),
    ('unknown',      'a vendor status nobody has mapped yet');

-- Statuses are matched on a normalized key (case, runs of spaces and spaces around commas and
-- hyphens ignored), because vendors are inconsistent about all three ("Email,Opened" next to
-- "Email, LinkClicked"); status_raw keeps the spelling as documented.
CREATE FUNCTION core.status_key(status text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN lower(btrim(regexp_replace(regexp_replace(status, '\s*([,-])\s*', '\1', 'g'), '\s+', ' ', 'g')));

CREATE TABLE core.event_type_map (
    source     text NOT NULL,
    status_key text NOT NULL,
    status_raw text NOT NULL,
    event_type text NOT NULL REFERENCES core.event_types,
    PRIMARY KEY (source, status_key),
    CHECK (status_key = core.status_key(status_raw))
);

COMMENT ON TABLE core.event_type_map IS
    'Vendor status or interaction type -> canonical event_type. Unmapped statuses load as unknown.';

INSERT INTO core.event_type_map (source, status_key, status_raw, event_type)
SELECT 'mgage', core.status_key(s), s, e
FROM (VALUES
    ('Processing',  'queued'),
    ('Sent',        'sent'),
    ('Delivered',   'delivered'),
    ('Undelivered', 'undelivered'),
    ('Error',       'failed'),
    ('Received',    'received')
) AS m(s, e);
