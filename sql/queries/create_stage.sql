-- One partition load's staging area: every record fetched, normalized or rejected, in fetch order.
CREATE TEMP TABLE stage_records (
    seq            bigint GENERATED ALWAYS AS IDENTITY,
    record_id      text        NOT NULL,
    partition_date date        NOT NULL,
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
) ON COMMIT DROP
