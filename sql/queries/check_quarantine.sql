-- Records of a source held in quarantine for the given partitions (all, when NULL), by reason.
SELECT reason, count(*) AS records
FROM ops.quarantine
WHERE source = %(source)s
  AND (%(days)s::date[] IS NULL OR partition_date = ANY(%(days)s::date[]) OR partition_date IS NULL)
GROUP BY reason
ORDER BY records DESC
