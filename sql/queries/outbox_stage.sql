-- The audience of one activation run, checked: one row per key (the first the query returned),
-- with the rule it breaks when it cannot be sent. Dropped with the transaction.
CREATE TEMPORARY TABLE activation_audience (
    ordinal     bigint NOT NULL,
    event_key   text   NOT NULL,
    params      jsonb  NOT NULL,
    reject_code text,
    reject_text text
) ON COMMIT DROP
