-- Keys an activation sent twice within its window (%(resend_after)s; NULL: ever).
SELECT count(DISTINCT a.event_key)
FROM ops.activation_outbox AS a
JOIN ops.activation_outbox AS b
  ON b.activation = a.activation AND b.event_key = a.event_key AND b.outbox_id > a.outbox_id
 AND b.state = 'sent'
 AND (%(resend_after)s::interval IS NULL
      OR b.attempt_started_at < a.attempt_started_at + %(resend_after)s::interval)
WHERE a.activation = %(activation)s AND a.state = 'sent'
