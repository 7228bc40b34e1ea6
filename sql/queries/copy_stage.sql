COPY stage_records (
    record_id, partition_date, context, payload, reject_reason,
    source, channel, direction, status_raw, occurred_at, recipient,
    campaign_id, campaign_name, message_id, error_code, error_reason, attributes
) FROM STDIN
