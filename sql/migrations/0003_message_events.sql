-- depends: 0002_reference
-- The shared model: one row per message event, whatever the vendor.

CREATE TABLE core.message_events (
    event_id        text        PRIMARY KEY,
    source          text        NOT NULL,
    channel         text        NOT NULL REFERENCES core.channels,
    direction       text        NOT NULL CHECK (direction IN ('outbound', 'inbound')),
    event_type      text        NOT NULL REFERENCES core.event_types,
    status_raw      text,
    occurred_at     timestamptz NOT NULL,
    recipient       text        NOT NULL,
    campaign_id     text,
    campaign_name   text,
    message_id      text,
    error_code      text,
    error_reason    text,
    attributes      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    partition_date  date        NOT NULL,
    first_loaded_at timestamptz NOT NULL DEFAULT now(),
    loaded_at       timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE core.message_events IS
    'One row per message event from every source; event_id is stable per vendor record, so a status change updates the row.';
COMMENT ON COLUMN core.message_events.event_id IS 'source-prefixed hash of the vendor natural key (never of the status)';
COMMENT ON COLUMN core.message_events.status_raw IS 'the vendor''s status or interaction type, verbatim';
COMMENT ON COLUMN core.message_events.occurred_at IS 'when it happened, in UTC';
COMMENT ON COLUMN core.message_events.recipient IS 'E.164 phone, lower-cased email, or app device id';
COMMENT ON COLUMN core.message_events.attributes IS 'source-specific details worth querying (network, carrier status, ...)';
COMMENT ON COLUMN core.message_events.partition_date IS 'the daily partition (UTC) that loads this row';
COMMENT ON COLUMN core.message_events.loaded_at IS 'when this row was last written (unchanged re-loads do not touch it)';

CREATE INDEX message_events_occurred_at_idx ON core.message_events (occurred_at);
CREATE INDEX message_events_source_channel_idx ON core.message_events (source, channel, occurred_at);
CREATE INDEX message_events_recipient_idx ON core.message_events (recipient, occurred_at);
CREATE INDEX message_events_campaign_idx ON core.message_events (source, campaign_id);
CREATE INDEX message_events_partition_idx ON core.message_events (source, partition_date);
