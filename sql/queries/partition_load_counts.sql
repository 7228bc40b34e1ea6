-- Totals of a partition load, read at its end inside its transaction. now() is the
-- transaction's start, so rows it created or changed are recognizable by their timestamps.
SELECT
    (SELECT count(DISTINCT record_id) FROM stage_keys WHERE NOT rejected)            AS distinct_records,
    count(*) FILTER (WHERE first_loaded_at = now())                                  AS inserted,
    count(*) FILTER (WHERE loaded_at = now() AND first_loaded_at < now())             AS updated,
    count(*) FILTER (WHERE event_type = 'unknown')                                   AS unknown_status
FROM core.message_events
WHERE source = %(source)s AND partition_date = %(partition_date)s
