-- What each partition's last load fetched against what its raw table holds: every fetched
-- record is landed, quarantined, a duplicate, or another day's (out of the day's window, left
-- to that day's load). Returns the partitions that lost rows. The raw table may hold more: rows
-- the vendor no longer returns are kept, never deleted by a load, and are not a loss.
SELECT l.partition_date, l.records_fetched, l.duplicates, l.quarantined, l.out_of_window, r.landed
FROM ops.partition_loads AS l
CROSS JOIN LATERAL (
    SELECT count(*) AS landed FROM {raw_table} AS raw WHERE raw.partition_date = l.partition_date
) AS r
WHERE l.source = %(source)s AND l.partition_date = ANY(%(days)s::date[])
  AND r.landed < l.records_fetched - l.duplicates - l.quarantined - l.out_of_window
ORDER BY 1
