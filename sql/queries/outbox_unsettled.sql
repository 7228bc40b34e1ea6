-- The rows of an activation whose send may have reached the vendor without its answer being
-- recorded: left 'sending' by a run that died, or 'in_doubt' after a lost answer.
SELECT outbox_id, event_key, attempt_started_at
FROM ops.activation_outbox
WHERE activation = %(activation)s AND state IN ('sending', 'in_doubt')
ORDER BY outbox_id
