-- Write the due keys of an activation's audience to the outbox, in the run's one transaction,
-- before anything is sent. A key is not due while a send of it is under way or in doubt, nor
-- when it was sent within the activation's window (%(resend_after)s; NULL: once ever), nor
-- when the same data was already refused within it (refusing it again would tell nothing).
-- Each row's idempotency key is its activation, its key and its occurrence for that key.
WITH audience AS (
    SELECT DISTINCT ON (event_key) event_key, params, md5(params::text) AS params_hash,
           reject_code, reject_text
    FROM activation_audience
    ORDER BY event_key, ordinal
)
INSERT INTO ops.activation_outbox AS o
    (activation, event_id, sandbox, event_key, params, params_hash, idempotency_key, state, error_code,
     error_text, planned_run_id, last_run_id, planned_at, updated_at)
SELECT %(activation)s, %(event_id)s, %(sandbox)s, a.event_key, a.params, a.params_hash,
       encode(sha256(convert_to(%(activation)s || E'\x1f' || a.event_key || E'\x1f'
                                || (history.occurrences + 1)::text, 'UTF8')), 'hex'),
       CASE WHEN a.reject_code IS NULL THEN 'pending' ELSE 'rejected' END,
       a.reject_code, a.reject_text, %(run_id)s, %(run_id)s, %(now)s, %(now)s
FROM audience AS a
CROSS JOIN LATERAL (
    SELECT count(*) AS occurrences,
           count(*) FILTER (
               WHERE h.state IN ('pending', 'sending', 'in_doubt')
                  OR (h.state = 'sent' AND (%(resend_after)s::interval IS NULL
                      OR coalesce(h.attempt_started_at, h.planned_at) > %(now)s - %(resend_after)s::interval))
                  OR (h.state IN ('rejected', 'failed') AND h.params_hash = a.params_hash
                      AND (%(resend_after)s::interval IS NULL
                           OR h.planned_at > %(now)s - %(resend_after)s::interval))) AS blocking
    FROM ops.activation_outbox AS h
    WHERE h.activation = %(activation)s AND h.event_key = a.event_key
) AS history
WHERE history.blocking = 0
RETURNING o.state, o.error_code
