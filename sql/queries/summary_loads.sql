-- Per source over the loaded days: what the last loads fetched and quarantined.
SELECT source,
       count(*)             AS partitions,
       sum(records_fetched)::bigint AS records_fetched,
       sum(inserted)::bigint        AS inserted,
       sum(updated)::bigint         AS updated,
       sum(unchanged)::bigint       AS unchanged,
       sum(quarantined)::bigint     AS quarantined,
       sum(unknown_status)::bigint  AS unknown_status
FROM ops.partition_loads
WHERE partition_date BETWEEN :first_day AND :last_day
GROUP BY source
ORDER BY source
