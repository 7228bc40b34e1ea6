-- A staged row's columns (event_sql.STAGE_ROW: the record's keys and landing, then the event
-- columns after event_id from the event row's one definition, pipelines/model/events.py),
-- composed by pipelines/warehouse/event_sql.py.
COPY stage_records ({columns})
FROM STDIN
