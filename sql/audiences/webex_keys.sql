-- The Webex customer keys to follow, besides those listed in WEBEX_KEYS. The data team owns
-- this query: change it to follow whom the business cares about (a CRM table, a segment).
--
-- It returns one row per key, with two columns:
--   key      text         an MSISDN (with or without '+'), an email or an app device id;
--                         spellings of one customer (an email's case, the '+') become one key
--   seen_at  timestamptz  the customer's latest activity, or null: a key seen again since the
--                         last refresh is pulled at the next run
-- Parameters: %(since)s and %(now)s (the last WEBEX_FOLLOW_DAYS days, on the product's
-- clock), and %(sandbox)s (true when Webex is the local sandbox: a sandbox follows the
-- sandbox's recipients only, and a real tenant is never asked about synthetic numbers).
--
-- By default: every phone and email recipient the warehouse has seen in those days on the other
-- vendors (the customers messaged elsewhere are the ones whose Webex history matters), and
-- every customer an activation sent an event to in those days. Webex's
-- own rows are left out: each comes from a key already followed, and reading them back would
-- make whom to follow depend on the last Webex load.
SELECT key, max(seen_at) AS seen_at
FROM (
    SELECT recipient AS key, occurred_at AS seen_at
    FROM core.message_events
    WHERE source <> 'webex'
      AND occurred_at >= %(since)s
      AND occurred_at <= %(now)s
      AND sandbox = %(sandbox)s
      AND recipient IS NOT NULL
      AND channel IN ('sms', 'mms', 'whatsapp', 'ussd', 'obd', 'email')
    UNION ALL
    -- The customers an activation sent an event to (sql/activations/): what became of it is
    -- in their Webex transactions (marts.activation_results), and an event whose answer was
    -- lost is settled from them.
    SELECT event_key, attempt_started_at
    FROM ops.activation_outbox
    WHERE state IN ('sent', 'sending', 'in_doubt')
      AND attempt_started_at >= %(since)s
      AND attempt_started_at <= %(now)s
      AND sandbox = %(sandbox)s
) AS seen
GROUP BY key
