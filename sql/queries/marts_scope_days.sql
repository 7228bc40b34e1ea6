-- The days to recompute in each zone, with the instants they start and end: in UTC the marked
-- days; in the reporting zone every local day that overlaps one of them (one or two).
WITH zones AS (
    SELECT DISTINCT unnest(ARRAY['UTC', time_zone]) AS time_zone, time_zone AS reporting_zone
    FROM refresh_zone
),
local_days AS (
    SELECT DISTINCT z.time_zone, z.time_zone = z.reporting_zone AS reporting, l.day
    FROM (SELECT DISTINCT day FROM refresh_marks) AS m
    CROSS JOIN zones AS z
    CROSS JOIN LATERAL (VALUES
        (((m.day::timestamp AT TIME ZONE 'UTC') AT TIME ZONE z.time_zone)::date),
        (((((m.day + 1)::timestamp AT TIME ZONE 'UTC') - interval '1 microsecond')
          AT TIME ZONE z.time_zone)::date)) AS l (day)
)
INSERT INTO refresh_days (time_zone, reporting, day, starts_at, ends_at)
SELECT time_zone, reporting, day,
       day::timestamp AT TIME ZONE time_zone, (day + 1)::timestamp AT TIME ZONE time_zone
FROM local_days
