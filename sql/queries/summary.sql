-- What `make run` prints: events per source, channel and event type over the loaded days.
SELECT source, channel, event_type, count(*) AS events
FROM core.message_events
WHERE partition_date BETWEEN :first_day AND :last_day
GROUP BY source, channel, event_type
ORDER BY source, channel, event_type
