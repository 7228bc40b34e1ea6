-- Opt-outs and opt-ins of the reporting zone's days to recompute, per campaign: unsubscribes,
-- do-not-disturb additions and removals (by the vendor's status: Webex DNDAddition and
-- DNDRemoval), and inbound messages whose body was a stop word (core.stop_replies). Counts only.
DELETE FROM marts.opt_outs_daily AS o
USING refresh_days AS d
WHERE d.reporting AND o.time_zone = d.time_zone AND o.day = d.day;

INSERT INTO marts.opt_outs_daily (time_zone, day, source, channel, campaign_id, campaign_name,
                                  sandbox, unsubscribes, dnd_additions, dnd_removals,
                                  stop_replies, opt_outs, opted_out_recipients)
WITH events AS (
    SELECT d.time_zone, d.day, e.source, e.channel, e.campaign_id, e.campaign_name, e.sandbox,
           e.recipient,
           core.status_key(coalesce(e.status_raw, '')) = 'dndaddition' AS dnd_addition,
           core.status_key(coalesce(e.status_raw, '')) = 'dndremoval' AS dnd_removal,
           e.event_type = 'unsubscribed' AS unsubscribed,
           s.event_id IS NOT NULL AS stop_reply
    FROM refresh_days AS d
    JOIN core.message_events AS e ON e.occurred_at >= d.starts_at AND e.occurred_at < d.ends_at
    LEFT JOIN core.stop_replies AS s ON s.event_id = e.event_id
    WHERE d.reporting
      AND (e.event_type IN ('unsubscribed', 'subscribed') OR s.event_id IS NOT NULL)
)
SELECT time_zone, day, source, channel, campaign_id, max(campaign_name), sandbox,
       count(*) FILTER (WHERE unsubscribed AND NOT dnd_addition),
       count(*) FILTER (WHERE dnd_addition),
       count(*) FILTER (WHERE dnd_removal),
       count(*) FILTER (WHERE stop_reply),
       count(*) FILTER (WHERE unsubscribed OR stop_reply),
       count(DISTINCT recipient) FILTER (WHERE unsubscribed OR stop_reply)
FROM events
GROUP BY time_zone, day, source, channel, campaign_id, sandbox
HAVING count(*) FILTER (WHERE unsubscribed OR stop_reply OR dnd_removal) > 0
