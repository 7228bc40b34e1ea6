-- The event type of each status the merged chunk staged, as the merge wrote it: what a fresh
-- load learns for the records after it (a status spelt unlike the map, or one nobody mapped).
SELECT DISTINCT channel, coalesce(status_raw, ''), core.event_type_for(source, channel, status_raw)
FROM stage_records
WHERE reject_reason IS NULL
