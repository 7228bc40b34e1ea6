-- Sizes of the mart views analysts start from (recipient_message_status is left out: counting
-- it means computing every recipient's latest status).
SELECT (SELECT count(*) FROM marts.daily_events)         AS daily_events_rows,
       (SELECT count(*) FROM marts.campaign_performance) AS campaigns,
       (SELECT count(*) FROM core.status_history)        AS transitions
