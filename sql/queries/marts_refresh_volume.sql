-- Daily and hourly volume of the days to recompute, in UTC and in the reporting zone: each
-- day's rows deleted and counted again from its events, at their current status.
DELETE FROM marts.volume_daily AS v
USING refresh_days AS d
WHERE v.time_zone = d.time_zone AND v.day = d.day;

INSERT INTO marts.volume_daily (time_zone, day, source, channel, direction, event_type, sandbox,
                                events, recipients, first_event_at, last_event_at)
SELECT d.time_zone, d.day, e.source, e.channel, e.direction, e.event_type, e.sandbox,
       count(*), count(DISTINCT e.recipient), min(e.occurred_at), max(e.occurred_at)
FROM refresh_days AS d
JOIN core.message_events AS e ON e.occurred_at >= d.starts_at AND e.occurred_at < d.ends_at
GROUP BY d.time_zone, d.day, e.source, e.channel, e.direction, e.event_type, e.sandbox;

DELETE FROM marts.volume_hourly AS v
USING refresh_days AS d
WHERE v.time_zone = d.time_zone AND v.day = d.day;

-- An hour is truncated on the zone's own clock (date_trunc with the zone), so a zone half an
-- hour off UTC gets its own hours, and a fall-back night two hours called 01:00.
INSERT INTO marts.volume_hourly (time_zone, hour_start, day, hour_of_day, source, channel,
                                 direction, event_type, sandbox, events, recipients)
SELECT d.time_zone, date_trunc('hour', e.occurred_at, d.time_zone), d.day,
       extract(hour FROM e.occurred_at AT TIME ZONE d.time_zone)::smallint,
       e.source, e.channel, e.direction, e.event_type, e.sandbox,
       count(*), count(DISTINCT e.recipient)
FROM refresh_days AS d
JOIN core.message_events AS e ON e.occurred_at >= d.starts_at AND e.occurred_at < d.ends_at
GROUP BY d.time_zone, 2, d.day, 4, e.source, e.channel, e.direction, e.event_type, e.sandbox
