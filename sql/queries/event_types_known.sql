-- The event type of every status the map names for a source, on each channel it names, and
-- of no status at all, as core.event_type_for answers: what a fresh load knows before it starts.
WITH channels AS (
    SELECT DISTINCT channel FROM core.event_type_map WHERE source = %(source)s AND channel <> '*'
), statuses AS (
    SELECT status_raw FROM core.event_type_map WHERE source = %(source)s
    UNION
    SELECT ''
)
SELECT c.channel, s.status_raw, core.event_type_for(%(source)s, c.channel, s.status_raw)
FROM channels AS c CROSS JOIN statuses AS s
