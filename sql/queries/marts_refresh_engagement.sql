-- Engagement of the reporting zone's days to recompute, by the hour of the zone's clock it
-- happened in: opens, clicks and replies to our messages, and the customers' own inbound
-- messages.
DELETE FROM marts.engagement_by_hour AS g
USING refresh_days AS d
WHERE d.reporting AND g.time_zone = d.time_zone AND g.day = d.day;

INSERT INTO marts.engagement_by_hour (time_zone, day, weekday, weekday_name, hour_of_day,
                                      source, channel, event_type, sandbox, events, recipients)
SELECT d.time_zone, d.day, extract(isodow FROM d.day)::smallint, to_char(d.day, 'FMDay'),
       extract(hour FROM e.occurred_at AT TIME ZONE d.time_zone)::smallint,
       e.source, e.channel, e.event_type, e.sandbox, count(*), count(DISTINCT e.recipient)
FROM refresh_days AS d
JOIN core.message_events AS e ON e.occurred_at >= d.starts_at AND e.occurred_at < d.ends_at
WHERE d.reporting AND e.event_type IN ('opened', 'clicked', 'replied', 'received')
GROUP BY d.time_zone, d.day, 5, e.source, e.channel, e.event_type, e.sandbox
