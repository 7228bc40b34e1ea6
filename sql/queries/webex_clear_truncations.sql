-- Days of a batch's Webex windows that are no longer truncated leave the table; the batch's
-- truncated days are upserted next (webex_record_truncations).
DELETE FROM ops.webex_truncations AS t
USING unnest(%(keys)s::text[], %(firsts)s::date[], %(lasts)s::date[]) AS w(key, first_day, last_day)
WHERE t.key = w.key
  AND t.local_date BETWEEN w.first_day AND w.last_day
  AND NOT EXISTS (
      SELECT FROM unnest(%(cut_keys)s::text[], %(cut_dates)s::date[]) AS c(key, local_date)
      WHERE c.key = t.key AND c.local_date = t.local_date)
