-- A few of the rows one run touched, for the run's metadata: the key is pseudonymized by the
-- caller, parameters are named, never shown.
SELECT event_key, state, error_code, attempts, settled_by,
       (SELECT count(*) FROM jsonb_object_keys(params)) AS params
FROM ops.activation_outbox
WHERE activation = %(activation)s AND last_run_id = %(run_id)s
ORDER BY outbox_id
LIMIT 10
