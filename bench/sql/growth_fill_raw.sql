-- Each filled event's landed record, in its source's raw table.
INSERT INTO {raw_table} (record_id, partition_date, context, payload)
SELECT event_id, partition_date, '{{}}',
       jsonb_build_object('id', message_id, 'status', status_raw, 'to', recipient, 'at', occurred_at)
FROM core.message_events
WHERE source = %(source)s AND sandbox AND partition_date < %(day)s
