-- WEBEX_KEYS as data: each configured key, as its identity, is followed (due at once when it
-- is new); a key no longer configured stops being followed on that account (a key the
-- audience lists still is). Both statements see the same snapshot and touch disjoint rows.
WITH configured AS (
    SELECT DISTINCT ops.webex_key_identity(spelling) AS key
    FROM unnest(%(keys)s::text[]) AS k(spelling)
    WHERE ops.webex_key_identity(spelling) <> ''
), followed AS (
    INSERT INTO ops.webex_keys AS w (key, configured, followed_since, due_at)
    SELECT key, true, %(now)s, %(now)s FROM configured
    ON CONFLICT (key) DO UPDATE SET configured = true, updated_at = now()
    WHERE NOT w.configured
)
UPDATE ops.webex_keys AS w SET configured = false, updated_at = now()
WHERE w.configured AND NOT EXISTS (SELECT FROM configured AS c WHERE c.key = w.key)
