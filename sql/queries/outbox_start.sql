-- An attempt begins: committed before the request leaves, so that a kill from here on leaves
-- the row 'sending', which no run sends again blindly. No row: another run took it.
UPDATE ops.activation_outbox
SET state = 'sending', attempts = attempts + 1, attempt_started_at = %(now)s,
    last_run_id = %(run_id)s, updated_at = %(now)s
WHERE outbox_id = %(outbox_id)s AND state = 'pending'
RETURNING outbox_id
