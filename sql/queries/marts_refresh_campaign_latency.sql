-- Delivery and engagement latency percentiles of the campaigns whose messages were
-- recomputed, over all of their messages (marts.message_latency). Continuous percentiles
-- (interpolated between messages), over the messages with a known time.
DELETE FROM marts.campaign_delivery_latency AS c
USING (SELECT DISTINCT source, channel, coalesce(campaign_id, '') AS campaign FROM refresh_campaigns) AS r
WHERE c.source = r.source AND c.channel = r.channel AND coalesce(c.campaign_id, '') = r.campaign;

INSERT INTO marts.campaign_delivery_latency (
    source, channel, campaign_id, campaign_name, sandbox, messages, delivered, timed_deliveries,
    delivery_p50_seconds, delivery_p90_seconds, delivery_p95_seconds, delivery_p99_seconds,
    engaged, timed_engagements, engagement_p50_seconds, engagement_p90_seconds,
    first_sent_at, last_sent_at)
SELECT l.source, l.channel, l.campaign_id, max(l.campaign_name), bool_or(l.sandbox), count(*),
       count(*) FILTER (WHERE l.delivered), count(l.seconds_to_delivery),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY l.seconds_to_delivery),
       percentile_cont(0.9) WITHIN GROUP (ORDER BY l.seconds_to_delivery),
       percentile_cont(0.95) WITHIN GROUP (ORDER BY l.seconds_to_delivery),
       percentile_cont(0.99) WITHIN GROUP (ORDER BY l.seconds_to_delivery),
       count(*) FILTER (WHERE l.engaged), count(l.seconds_to_first_engagement),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY l.seconds_to_first_engagement),
       percentile_cont(0.9) WITHIN GROUP (ORDER BY l.seconds_to_first_engagement),
       min(l.sent_at), max(l.sent_at)
FROM marts.message_latency AS l
JOIN (SELECT DISTINCT source, channel, coalesce(campaign_id, '') AS campaign FROM refresh_campaigns) AS r
  ON l.source = r.source AND l.channel = r.channel AND coalesce(l.campaign_id, '') = r.campaign
GROUP BY l.source, l.channel, l.campaign_id
