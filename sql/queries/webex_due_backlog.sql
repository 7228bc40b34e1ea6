-- How many followed Webex keys of the run's shards were due at `now` and not pulled by the
-- run `run_id` (null: by no run), and since when the longest due of them has waited.
SELECT count(*), min(due_at)
FROM ops.webex_keys
WHERE (configured OR listed)
  AND due_at <= %(now)s
  AND mod(shard_hash, %(shard_count)s) = ANY(%(shards)s::integer[])
  AND (%(run_id)s::text IS NULL OR run_id IS DISTINCT FROM %(run_id)s)
