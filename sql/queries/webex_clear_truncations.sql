-- Days of a Webex key's loaded window that are no longer truncated leave the table; the
-- window's truncated days are upserted next (webex_record_truncations).
DELETE FROM ops.webex_truncations
WHERE key = %(key)s
  AND local_date BETWEEN %(first)s AND %(last)s
  AND local_date <> ALL(%(dates)s::date[])
