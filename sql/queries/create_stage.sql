-- One partition load's staging area: the current chunk of records, normalized or rejected, in
-- fetch order; and the keys of every chunk already merged, for duplicate counts and quarantine.
CREATE TEMP TABLE stage_records (
    seq            bigint GENERATED ALWAYS AS IDENTITY,
    record_id      text        COLLATE "C" NOT NULL,
    partition_date date,
    context        jsonb       NOT NULL,
    payload        jsonb       NOT NULL,
    reject_reason  text,
    source         text,
    channel        text,
    direction      text,
    status_raw     text,
    occurred_at    timestamptz,
    recipient      text,
    campaign_id    text,
    campaign_name  text,
    message_id     text,
    error_code     text,
    error_reason   text,
    attributes     jsonb
) ON COMMIT DROP;

CREATE TEMP TABLE stage_keys (
    record_id text    COLLATE "C" NOT NULL,
    rejected  boolean NOT NULL
) ON COMMIT DROP
