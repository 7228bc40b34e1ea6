-- A fresh load's new events, straight into the fact table; the written columns come from the
-- event row's one definition (pipelines/model/events.py), composed by
-- pipelines/warehouse/event_sql.py. The load times take their defaults: the transaction's time.
COPY core.message_events ({written}) FROM STDIN
