-- depends: 0007_roles
-- Webex is pulled per customer key, and a real tenant has up to millions of them: the keys to
-- follow are data in the warehouse, not a variable. One row per customer, whatever spelling
-- named it (an email's case, an MSISDN's '+'), holding why it is followed, how far it is
-- loaded, and when it is next due. It replaces ops.webex_key_state (the watermarks alone).

-- What identifies a customer key: emails without case, MSISDNs without a leading '+'
-- (pipelines/sources/webex/client.py key_identity says the same in Python).
CREATE FUNCTION ops.webex_key_identity(key text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
    SELECT CASE WHEN position('@' IN btrim(key)) > 0 THEN lower(btrim(key))
                ELSE regexp_replace(btrim(key), '^\+', '') END
$$;

CREATE TABLE ops.webex_keys (
    key              text        COLLATE "C" PRIMARY KEY
                                 CHECK (key = ops.webex_key_identity(key) AND key <> ''),
    -- A stable hash of the key (28 bits of its MD5): a key's shard is shard_hash mod the
    -- number of shards, so changing that number re-homes keys and loses no state.
    shard_hash       integer     NOT NULL
                                 GENERATED ALWAYS AS (('x' || substr(md5(key), 1, 7))::bit(28)::integer) STORED,
    configured       boolean     NOT NULL DEFAULT false,  -- listed in WEBEX_KEYS
    listed           boolean     NOT NULL DEFAULT false,  -- returned by sql/audiences/webex_keys.sql
    seen_at          timestamptz,                         -- its latest message in core, as listed
    followed_since   timestamptz NOT NULL,
    loaded_through   date,                                -- tenant-local day loaded through
    last_activity_on date,                                -- tenant-local day of its latest transaction
    pulled_at        timestamptz,
    due_at           timestamptz NOT NULL,                -- next pull; the longest due go first
    run_id           text,
    updated_at       timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE ops.webex_keys IS
    'Webex customer keys to follow (configured or listed), how far each is loaded and when it is next due';
CREATE INDEX webex_keys_due_idx ON ops.webex_keys (due_at, pulled_at NULLS FIRST, key)
    WHERE configured OR listed;

-- The watermarks kept so far, one row per customer: the furthest any spelling reached. Their
-- keys are followed again once WEBEX_KEYS or the audience lists them (the next run does).
INSERT INTO ops.webex_keys (key, followed_since, loaded_through, pulled_at, due_at, run_id, updated_at)
SELECT ops.webex_key_identity(key), min(updated_at), max(loaded_through), max(updated_at),
       min(updated_at), (array_agg(run_id ORDER BY updated_at DESC))[1], max(updated_at)
FROM ops.webex_key_state
WHERE ops.webex_key_identity(key) <> ''
GROUP BY 1;
DROP TABLE ops.webex_key_state;

-- Truncated days are recorded under the same identity (the latest report of a day wins).
DELETE FROM ops.webex_truncations AS t
USING ops.webex_truncations AS u
WHERE ops.webex_key_identity(t.key) = ops.webex_key_identity(u.key)
  AND t.local_date = u.local_date
  AND t.key <> u.key
  AND (t.detected_at, t.key) < (u.detected_at, u.key);
UPDATE ops.webex_truncations SET key = ops.webex_key_identity(key)
WHERE key <> ops.webex_key_identity(key);

GRANT SELECT, INSERT, UPDATE, DELETE ON ops.webex_keys TO warehouse_loader;
GRANT EXECUTE ON FUNCTION ops.webex_key_identity(text) TO warehouse_loader;
GRANT USAGE ON SCHEMA ops TO pii_reader;
GRANT SELECT ON ops.webex_keys, ops.webex_truncations TO pii_reader;
