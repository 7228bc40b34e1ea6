-- The size of each mart table, in pipelines/warehouse/mart_refresh.py's MART_TABLES order.
SELECT (SELECT count(*) FROM marts.volume_daily),
       (SELECT count(*) FROM marts.volume_hourly),
       (SELECT count(*) FROM marts.failures_daily),
       (SELECT count(*) FROM marts.engagement_by_hour),
       (SELECT count(*) FROM marts.opt_outs_daily),
       (SELECT count(*) FROM marts.message_latency),
       (SELECT count(*) FROM marts.campaign_delivery_latency),
       (SELECT count(*) FROM marts.customer_360)
