-- The days of a Webex key whose single-day answer was full (count rows): older transactions of
-- those days may be missing. A day already recorded with the same count is left as it was.
INSERT INTO ops.webex_truncations AS t (key, local_date, returned, run_id, detected_at)
SELECT %(key)s, day.local_date, day.returned, %(run_id)s, now()
FROM unnest(%(dates)s::date[], %(returned)s::integer[]) AS day(local_date, returned)
ON CONFLICT (key, local_date) DO UPDATE
SET returned = excluded.returned, run_id = excluded.run_id, detected_at = now()
WHERE t.returned IS DISTINCT FROM excluded.returned
