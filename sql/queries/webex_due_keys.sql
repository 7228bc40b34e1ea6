-- The followed Webex keys of the run's shards that are due, the longest due first and, among
-- keys due at one time, the longest since pulled (never pulled first), so that a run short of
-- budget never serves the same keys again ahead of those it left; at most `limit` of them.
-- A key's shard is its stable hash modulo the shard count.
SELECT key, loaded_through, last_activity_on, seen_at
FROM ops.webex_keys
WHERE (configured OR listed)
  AND due_at <= %(now)s
  AND mod(shard_hash, %(shard_count)s) = ANY(%(shards)s::integer[])
ORDER BY due_at, pulled_at NULLS FIRST, key
LIMIT %(limit)s
