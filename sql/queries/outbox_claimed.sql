-- The vendor transactions among %(transaction_ids)s that already settle an outbox row.
SELECT transaction_id FROM ops.activation_outbox WHERE transaction_id = ANY(%(transaction_ids)s)
