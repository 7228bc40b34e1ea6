-- A Webex key's watermark after a load, in the load's transaction. It never moves backwards
-- (a clock or zone change must not make the next run skip days already loaded).
INSERT INTO ops.webex_key_state AS s (key, loaded_through, run_id, updated_at)
VALUES (%(key)s, %(loaded_through)s, %(run_id)s, now())
ON CONFLICT (key) DO UPDATE
SET loaded_through = greatest(s.loaded_through, excluded.loaded_through),
    run_id = excluded.run_id,
    updated_at = now()
