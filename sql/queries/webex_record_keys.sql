-- A batch's Webex keys after their load, in the load's transaction: each watermark and latest
-- activity day never move backwards (a clock or zone change must not make a run skip days
-- already loaded); the pull time and the next due time are the run's.
UPDATE ops.webex_keys AS w
SET loaded_through   = greatest(w.loaded_through, s.loaded_through),
    last_activity_on = greatest(w.last_activity_on, s.last_activity_on),
    pulled_at        = %(pulled_at)s,
    due_at           = s.due_at,
    run_id           = %(run_id)s,
    updated_at       = now()
FROM unnest(%(keys)s::text[], %(loaded_through)s::date[], %(activity)s::date[],
            %(due_at)s::timestamptz[]) AS s(key, loaded_through, last_activity_on, due_at)
WHERE w.key = s.key
