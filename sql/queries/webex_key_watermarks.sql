-- The watermark of each of the given Webex keys that has one: the tenant-local day up to which
-- its transactions are loaded.
SELECT key, loaded_through
FROM ops.webex_key_state
WHERE key = ANY(%(keys)s)
