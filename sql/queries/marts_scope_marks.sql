-- The marks this refresh consumes: every UTC day a load touched since the last refresh, and
-- when that load ran (its rows' loaded_at), as this refresh's snapshot sees them; for a full
-- refresh, every day with events besides (no load time: all of its rows).
INSERT INTO refresh_marks (mark_id, day, marked_at)
SELECT mark_id, day, marked_at FROM ops.mart_dirty_days
UNION ALL
SELECT NULL, days.day, NULL
FROM (SELECT DISTINCT (occurred_at AT TIME ZONE 'UTC')::date AS day FROM core.message_events) AS days
WHERE %(full)s
