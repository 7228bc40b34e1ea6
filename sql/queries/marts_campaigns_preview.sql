-- The largest campaigns, as a dashboard would show them first.
SELECT source, channel, campaign_id, campaign_name, sent, delivered, failed, opened, clicked,
       delivery_rate, open_rate
FROM marts.campaign_performance
ORDER BY sent DESC
LIMIT 10
