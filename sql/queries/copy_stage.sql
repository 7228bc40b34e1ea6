-- The event columns after event_id come from the event row's one definition
-- (pipelines/model/events.py), composed by pipelines/warehouse/event_sql.py.
COPY stage_records (record_id, partition_date, context, payload, reject_reason, {event_columns})
FROM STDIN
