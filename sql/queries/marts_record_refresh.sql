-- This refresh, for the next one (reporting zone, inputs) and for marts.freshness; when it ran
-- and the newest event the marts hold.
INSERT INTO ops.mart_refreshes (run_id, time_zone, full_refresh, reason, utc_days, inputs)
VALUES (%(run_id)s, %(time_zone)s, %(full_refresh)s, %(reason)s, %(utc_days)s, %(inputs)s)
RETURNING refreshed_at,
          (SELECT max(last_event_at) FROM marts.volume_daily WHERE time_zone = 'UTC')
