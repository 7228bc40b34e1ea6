-- A full refresh starts from empty mart tables (DELETE, not TRUNCATE: readers keep reading the
-- previous rows until the refresh commits).
DELETE FROM marts.volume_daily;
DELETE FROM marts.volume_hourly;
DELETE FROM marts.failures_daily;
DELETE FROM marts.engagement_by_hour;
DELETE FROM marts.opt_outs_daily;
DELETE FROM marts.message_latency;
DELETE FROM marts.campaign_delivery_latency;
DELETE FROM marts.customer_360
