-- What one run did to an activation's rows: its rows by state and reason.
SELECT state, error_code, count(*)
FROM ops.activation_outbox
WHERE activation = %(activation)s AND last_run_id = %(run_id)s
GROUP BY state, error_code
ORDER BY state, error_code
