-- depends: 0006_marts
-- Who may read and write what. The role that applies migrations (the migrator) owns every
-- schema and object; nobody else gets anything by default (PUBLIC revoked). Three group roles,
-- granted to login users by whoever administers the server:
--   warehouse_loader  the pipeline: writes raw, core.message_events and ops; reads the rest.
--                     No DDL: migrations are `make migrate`, never a side effect of a load.
--   analyst           analysts and BI: the marts only, where phone numbers, emails and keys
--                     appear as keyed pseudonyms and message bodies and preview links not at all.
--   pii_reader        the few who need clear values: everything an analyst reads, plus core,
--                     raw and the quarantine.
-- Roles are cluster-wide, so they are created only when missing; grants are per database.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'warehouse_loader') THEN
        CREATE ROLE warehouse_loader NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'analyst') THEN
        CREATE ROLE analyst NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pii_reader') THEN
        CREATE ROLE pii_reader NOLOGIN;
    END IF;
END
$$;
GRANT analyst TO pii_reader;

-- What the loader stamps on every row besides the vendor's record: the recipient's keyed
-- pseudonym (PIPELINES_PII_KEY, the same HMAC as in Dagster's metadata, so analysts can join
-- and count without the clear value), and whether the row came from the local sandbox.
ALTER TABLE core.message_events
    ADD COLUMN recipient_pseudonym text COLLATE "C",
    ADD COLUMN sandbox boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN core.message_events.recipient_pseudonym IS
    'keyed pseudonym (HMAC-SHA256 under PIPELINES_PII_KEY) of recipient: what the analyst role sees';
COMMENT ON COLUMN core.message_events.sandbox IS
    'true for rows loaded from the local vendor sandbox (synthetic data), never a real vendor';
CREATE INDEX message_events_recipient_pseudonym_idx
    ON core.message_events (recipient_pseudonym, occurred_at);

-- The core model as analysts see it: recipients by pseudonym, no preview links or customer ids.
CREATE VIEW marts.message_events AS
SELECT event_id, source, channel, direction, event_type, status_raw, occurred_at,
       recipient_pseudonym, campaign_id, campaign_name, message_id, error_code, error_reason,
       attributes - 'msg_preview_url' - 'customer_id' AS attributes,
       partition_date, sandbox, first_loaded_at, loaded_at
FROM core.message_events;
COMMENT ON VIEW marts.message_events IS
    'core.message_events for analysts: recipients as keyed pseudonyms, no message preview links '
    'or vendor customer ids.';

-- The per-recipient mart names recipients by pseudonym too.
DROP VIEW marts.recipient_message_status;
CREATE VIEW marts.recipient_message_status AS
SELECT DISTINCT ON (source, recipient, coalesce(message_id, event_id))
       source, channel, direction, recipient_pseudonym,
       coalesce(message_id, event_id) AS message_key,
       campaign_id, campaign_name,
       event_type                     AS latest_event_type,
       status_raw                     AS latest_status_raw,
       occurred_at                    AS latest_at,
       sandbox
FROM core.message_events
ORDER BY source, recipient, coalesce(message_id, event_id), occurred_at DESC, event_id;
COMMENT ON VIEW marts.recipient_message_status IS
    'Per recipient (by pseudonym) and message: the latest status, as last reported by the vendor.';

-- Nothing for PUBLIC.
DO $$
BEGIN
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO warehouse_loader, analyst', current_database());
    EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO warehouse_loader', current_database());
END
$$;
REVOKE ALL ON SCHEMA raw, core, ops, marts FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA raw, core, ops, marts FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA core FROM PUBLIC;

-- The loader.
GRANT USAGE ON SCHEMA raw, core, ops, marts TO warehouse_loader;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA raw, ops TO warehouse_loader;
GRANT SELECT, INSERT, UPDATE, DELETE ON core.message_events TO warehouse_loader;
GRANT SELECT ON core.event_types, core.event_type_map TO warehouse_loader;
GRANT SELECT ON ALL TABLES IN SCHEMA marts TO warehouse_loader;  -- checks and summaries
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA core TO warehouse_loader;
GRANT SELECT ON public._yoyo_migration TO warehouse_loader;  -- to refuse a stale schema

-- Analysts: the marts. Views run with their owner's rights, so no grant on core is needed.
GRANT USAGE ON SCHEMA marts TO analyst;
GRANT SELECT ON ALL TABLES IN SCHEMA marts TO analyst;

-- Clear values, for the few.
GRANT USAGE ON SCHEMA raw, core, ops TO pii_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA raw, core TO pii_reader;
GRANT SELECT ON ops.quarantine TO pii_reader;

-- Objects that later migrations create get the same grants (those migrations also grant
-- explicitly, in case another role applies them).
ALTER DEFAULT PRIVILEGES IN SCHEMA raw GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO warehouse_loader;
ALTER DEFAULT PRIVILEGES IN SCHEMA ops GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO warehouse_loader;
ALTER DEFAULT PRIVILEGES IN SCHEMA marts GRANT SELECT ON TABLES TO warehouse_loader, analyst;
ALTER DEFAULT PRIVILEGES IN SCHEMA raw GRANT SELECT ON TABLES TO pii_reader;
ALTER DEFAULT PRIVILEGES IN SCHEMA core GRANT SELECT ON TABLES TO pii_reader;
