-- depends: 0010_mapping_versions
-- Activations: warehouse audiences sent to Webex Campaign as events (sql/activations/). Every
-- event goes through this outbox: a run writes the keys that are due here, in one transaction,
-- before it sends anything, and each send moves its row through its states, every step
-- committed. The event API is not idempotent, so a row whose send may have reached the vendor
-- without its answer being recorded ('sending' after a kill, 'in_doubt') is never sent blindly
-- again: it is settled from the key's EventProcessedSuccess/Failed transactions
-- (pipelines/sources/webex/activations.py says how).
--
-- States: pending (due, not yet sent) -> sending (the attempt is committed before the request)
-- -> sent (the vendor accepted it: transaction_id) | failed (the vendor refused it for good)
-- | in_doubt (no answer; settled later) | pending again (the vendor surely did not act:
-- throttled, or no trace of it long after). rejected: refused here, never sent.
CREATE TABLE ops.activation_outbox (
    outbox_id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    activation         text        NOT NULL,
    event_id           text        NOT NULL,
    sandbox            boolean     NOT NULL,  -- sent to the local sandbox, not a real tenant
    -- Personal data, kept in ops (the loader and pii_reader read it, analysts never): the key
    -- normalized as the model does (E.164, lower-case email, an app device id verbatim), and
    -- the event-params as sent (text values).
    event_key          text        NOT NULL,
    params             jsonb       NOT NULL,
    params_hash        text        NOT NULL,  -- md5 of params: a refused row's data unchanged
    -- Stable per intended send: the activation, the key and its occurrence for that key.
    idempotency_key    text        NOT NULL UNIQUE,
    state              text        NOT NULL CHECK (state IN ('pending', 'sending', 'in_doubt', 'sent',
                                                             'failed', 'rejected')),
    attempts           integer     NOT NULL DEFAULT 0,
    transaction_id     text,                  -- the vendor's, from its answer or the settlement
    error_code         text,                  -- the vendor's code, or ours for a rejected row
    error_text         text,                  -- why (no personal data: masked vendor text)
    -- How the outcome became known: the vendor's answer, or its transactions for an in-doubt row.
    settled_by         text        CHECK (settled_by IN ('answer', 'transactions')),
    planned_run_id     text        NOT NULL,
    last_run_id        text        NOT NULL,
    planned_at         timestamptz NOT NULL,  -- the product's clock, as every time below
    attempt_started_at timestamptz,
    finished_at        timestamptz,
    updated_at         timestamptz NOT NULL
);
COMMENT ON TABLE ops.activation_outbox IS
    'One row per event an activation intended to send to Webex, with its state; personal data';
-- One send under way per activation and key, whatever runs overlap.
CREATE UNIQUE INDEX activation_outbox_open ON ops.activation_outbox (activation, event_key)
    WHERE state IN ('pending', 'sending', 'in_doubt');
CREATE INDEX activation_outbox_history ON ops.activation_outbox (activation, event_key, planned_at);
-- A vendor transaction settles one row at most.
CREATE UNIQUE INDEX activation_outbox_transaction ON ops.activation_outbox (transaction_id)
    WHERE transaction_id IS NOT NULL;
GRANT SELECT, INSERT, UPDATE ON ops.activation_outbox TO warehouse_loader;
GRANT SELECT ON ops.activation_outbox TO pii_reader;

-- Did an activation work? Per activation and run: what it sent and what the vendor accepted,
-- then what the Webex transactions pull shows of those keys afterwards (their messages
-- delivered, opened, clicked within 7 days of the send). Counts only: no key, no parameter.
-- A key's outcome counts the Webex messages of the key after its send; with several
-- activations to one key in a week, each is credited with what followed it.
CREATE VIEW marts.activation_results AS
WITH sends AS (
    SELECT activation, event_id, planned_run_id AS run_id, min(planned_at) AS planned_at,
           count(*) AS planned,
           count(*) FILTER (WHERE state = 'sent') AS sent,
           count(*) FILTER (WHERE state = 'sent' AND transaction_id IS NOT NULL) AS accepted,
           count(*) FILTER (WHERE state = 'sent' AND settled_by = 'transactions') AS settled_from_transactions,
           count(*) FILTER (WHERE state = 'rejected') AS rejected,
           count(*) FILTER (WHERE state = 'failed') AS failed,
           count(*) FILTER (WHERE state IN ('sending', 'in_doubt')) AS in_doubt,
           count(*) FILTER (WHERE state = 'pending') AS pending
    FROM ops.activation_outbox
    GROUP BY activation, event_id, planned_run_id
),
outcomes AS (
    SELECT o.activation, o.planned_run_id AS run_id,
           count(DISTINCT o.outbox_id) FILTER (WHERE e.event_type = 'triggered') AS processed,
           count(DISTINCT o.outbox_id) FILTER (WHERE e.event_type = 'delivered') AS delivered,
           count(DISTINCT o.outbox_id) FILTER (WHERE e.event_type IN ('opened', 'clicked')) AS opened,
           count(DISTINCT o.outbox_id) FILTER (WHERE e.event_type = 'clicked') AS clicked
    FROM ops.activation_outbox AS o
    JOIN core.message_events AS e
      ON e.source = 'webex' AND e.recipient = o.event_key
     AND e.occurred_at >= o.attempt_started_at - interval '5 minutes'
     AND e.occurred_at < o.attempt_started_at + interval '7 days'
    WHERE o.state = 'sent'
    GROUP BY o.activation, o.planned_run_id
)
SELECT s.activation, s.event_id, s.run_id, s.planned_at, s.planned, s.sent, s.accepted,
       s.settled_from_transactions, s.rejected, s.failed, s.in_doubt, s.pending,
       coalesce(o.processed, 0) AS processed, coalesce(o.delivered, 0) AS delivered,
       coalesce(o.opened, 0) AS opened, coalesce(o.clicked, 0) AS clicked
FROM sends AS s
LEFT JOIN outcomes AS o USING (activation, run_id);
COMMENT ON VIEW marts.activation_results IS
    'Per activation and run: planned, sent, accepted, rejected, failed, in doubt; then how many '
    'of the keys sent were processed, delivered, opened (or clicked) and clicked afterwards';
GRANT SELECT ON marts.activation_results TO warehouse_loader, analyst;
