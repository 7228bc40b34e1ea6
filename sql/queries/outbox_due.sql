-- The rows of an activation waiting to be sent, oldest first.
SELECT outbox_id, event_key, params
FROM ops.activation_outbox
WHERE activation = %(activation)s AND state = 'pending'
ORDER BY outbox_id
