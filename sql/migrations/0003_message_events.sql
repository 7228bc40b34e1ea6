-- depends: 0002_reference
-- The shared model: one row per message event, whatever the vendor.
-- Identifier columns compare bytewise (COLLATE "C"): hashes, E.164 numbers and ids need no
-- linguistic order, and bytewise keys sort and index several times faster.
-- No foreign keys on this fact table: per-row FK triggers cost more than the rest of a load.
-- event_type is valid by construction (it comes from core.event_type_map, whose FK checks
-- it, or is 'unknown'); channel and direction are the contract's closed lists.

CREATE TABLE core.message_events (
    event_id        text        COLLATE "C" PRIMARY KEY,
    source          text        NOT NULL,
    channel         text        NOT NULL
                    CHECK (channel IN ('sms', 'mms', 'email', 'whatsapp', 'app_push', 'ussd', 'obd')),
    direction       text        NOT NULL CHECK (direction IN ('outbound', 'inbound')),
    event_type      text        NOT NULL,
    status_raw      text,
    occurred_at     timestamptz NOT NULL,
    recipient       text        COLLATE "C" NOT NULL,
    campaign_id     text        COLLATE "C",
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

-- Rows arrive a partition (a day) at a time, so time and partition follow the physical order:
-- BRIN indexes serve range filters on them (the dashboards' "last N days, by source and
-- channel") at a fraction of a B-tree's upkeep. Recipient and campaign look-ups are selective
-- and get B-trees.
CREATE INDEX message_events_occurred_at_brin ON core.message_events USING brin (occurred_at);
CREATE INDEX message_events_partition_brin ON core.message_events USING brin (partition_date);
CREATE INDEX message_events_recipient_idx ON core.message_events (recipient, occurred_at);
CREATE INDEX message_events_campaign_idx ON core.message_events (source, campaign_id);
