INSERT INTO ops.quarantine AS q (source, scope, record_hash, partition_date, reason, context, payload, run_id)
SELECT DISTINCT ON (record_id)
       %(source)s, %(scope)s, record_id, partition_date, reject_reason, context, payload, %(run_id)s
FROM stage_records
WHERE reject_reason IS NOT NULL
ORDER BY record_id, seq DESC
ON CONFLICT (source, scope, record_hash) DO UPDATE
SET reason = excluded.reason, context = excluded.context, run_id = excluded.run_id,
    quarantined_at = now()
WHERE (q.reason, q.context) IS DISTINCT FROM (excluded.reason, excluded.context)
