-- The next rows of an activation waiting to be sent, oldest first, in batches (a million-key
-- audience is never held in memory at once).
SELECT outbox_id, event_key, params
FROM ops.activation_outbox
WHERE activation = %(activation)s AND state = 'pending' AND outbox_id > %(after)s
ORDER BY outbox_id
LIMIT %(batch)s
