-- The reporting zone and inputs of the last refresh of the mart tables (none: never refreshed).
SELECT time_zone, inputs
FROM ops.mart_refreshes
ORDER BY refresh_id DESC
LIMIT 1
