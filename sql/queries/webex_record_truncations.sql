-- The days of a batch's Webex keys whose single-day answer was full (count rows): older
-- transactions of those days may be missing. A day already recorded with the same count is
-- left as it was.
INSERT INTO ops.webex_truncations AS t (key, local_date, returned, run_id, detected_at)
SELECT cut.key, cut.local_date, cut.returned, %(run_id)s, now()
FROM unnest(%(cut_keys)s::text[], %(cut_dates)s::date[], %(returned)s::integer[])
     AS cut(key, local_date, returned)
ON CONFLICT (key, local_date) DO UPDATE
SET returned = excluded.returned, run_id = excluded.run_id, detected_at = now()
WHERE t.returned IS DISTINCT FROM excluded.returned
