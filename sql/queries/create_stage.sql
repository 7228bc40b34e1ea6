-- One partition load's staging area: the current chunk of records, normalized or rejected, in
-- fetch order; and the keys of every chunk already merged, for duplicate counts and quarantine.
-- The event columns after event_id, with their types, come from the event row's one definition
-- (pipelines/model/events.py), composed by pipelines/warehouse/event_sql.py.
CREATE TEMP TABLE stage_records (
    seq            bigint GENERATED ALWAYS AS IDENTITY,
    record_id      text        COLLATE "C" NOT NULL,
    partition_date date,
    context        jsonb       NOT NULL,
    payload        jsonb       NOT NULL,
    reject_reason  text,
    {event_column_types}
) ON COMMIT DROP;

-- Read whole, a few times a load (its distinct records, the quarantine it keeps): no index to
-- keep up for every staged row.
CREATE TEMP TABLE stage_keys (
    record_id      text    COLLATE "C" NOT NULL,
    partition_date date,
    rejected       boolean NOT NULL
) ON COMMIT DROP
