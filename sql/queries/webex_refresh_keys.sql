-- The audience's keys (temporary table webex_audience: key, seen_at) become the listed Webex
-- keys, one row per identity: new ones are followed and due at once; a key seen again since
-- the last refresh is due at once too (new traffic); keys the audience no longer returns stop
-- being followed on that account, keeping their watermark should they come back.
WITH listed AS (
    SELECT ops.webex_key_identity(key) AS key, max(seen_at) AS seen_at
    FROM webex_audience
    WHERE key IS NOT NULL AND ops.webex_key_identity(key) <> ''
    GROUP BY 1
), upserted AS (
    INSERT INTO ops.webex_keys AS w (key, listed, seen_at, followed_since, due_at)
    SELECT key, true, seen_at, %(now)s, %(now)s FROM listed
    ON CONFLICT (key) DO UPDATE
    SET listed = true,
        seen_at = greatest(w.seen_at, excluded.seen_at),
        due_at = CASE WHEN excluded.seen_at > w.seen_at OR (w.seen_at IS NULL AND excluded.seen_at IS NOT NULL)
                      THEN least(w.due_at, %(now)s) ELSE w.due_at END,
        updated_at = now()
    WHERE NOT w.listed OR excluded.seen_at > w.seen_at
       OR (w.seen_at IS NULL AND excluded.seen_at IS NOT NULL)
    RETURNING xmax = 0 AS inserted
), dropped AS (
    UPDATE ops.webex_keys AS w SET listed = false, updated_at = now()
    WHERE w.listed AND NOT EXISTS (SELECT FROM listed AS l WHERE l.key = w.key)
    RETURNING 1
)
SELECT (SELECT count(*) FROM listed)                            AS listed,
       (SELECT count(*) FROM upserted WHERE inserted)           AS added,
       (SELECT count(*) FROM dropped)                           AS dropped
