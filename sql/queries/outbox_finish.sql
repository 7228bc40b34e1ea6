-- What became of an attempt (or of a settlement), committed at once.
UPDATE ops.activation_outbox
SET state = %(state)s, transaction_id = coalesce(%(transaction_id)s, transaction_id),
    error_code = %(error_code)s, error_text = %(error_text)s, settled_by = %(settled_by)s,
    finished_at = CASE WHEN %(state)s IN ('sent', 'failed') THEN %(now)s END,
    last_run_id = %(run_id)s, updated_at = %(now)s
WHERE outbox_id = %(outbox_id)s AND state IN ('sending', 'in_doubt')
