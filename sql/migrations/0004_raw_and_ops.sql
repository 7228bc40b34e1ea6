-- depends: 0003_message_events
-- Landing tables keep each vendor record whole; ops keeps load state and the quarantine.

-- One landing table per source, all the same shape. record_id is the event_id of the
-- normalized row it produced, so raw and core reconcile one to one.
CREATE TABLE raw.mgage_messages (
    record_id       text        COLLATE "C" PRIMARY KEY,
    partition_date  date        NOT NULL,
    context         jsonb       NOT NULL,
    payload         jsonb       NOT NULL,
    first_loaded_at timestamptz NOT NULL DEFAULT now(),
    loaded_at       timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE raw.mgage_messages IS 'mGage SMS export messages as received; context holds the request (program, messageType)';
CREATE INDEX mgage_messages_partition_brin ON raw.mgage_messages USING brin (partition_date);

-- Records that could not be normalized: kept whole with the reason, never dropped.
-- A load replaces its own scope's quarantine rows (a daily partition, or a Webex key), so a
-- record the vendor later corrects leaves quarantine when it loads.
CREATE TABLE ops.quarantine (
    source          text        NOT NULL,
    scope           text        NOT NULL,
    record_hash     text        NOT NULL,
    partition_date  date,
    reason          text        NOT NULL,
    context         jsonb       NOT NULL,
    payload         jsonb       NOT NULL,
    run_id          text,
    quarantined_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, scope, record_hash)
);

-- The last completed load of each source partition, written in the same transaction as its rows.
CREATE TABLE ops.partition_loads (
    source          text        NOT NULL,
    partition_date  date        NOT NULL,
    run_id          text,
    pages           integer     NOT NULL,
    records_fetched bigint      NOT NULL,
    duplicates      bigint      NOT NULL,
    inserted        bigint      NOT NULL,
    updated         bigint      NOT NULL,
    unchanged       bigint      NOT NULL,
    quarantined     bigint      NOT NULL,
    unknown_status  bigint      NOT NULL,
    loaded_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, partition_date)
);
