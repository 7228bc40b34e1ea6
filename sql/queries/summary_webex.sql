-- Webex is pulled per key from a watermark: how many keys are followed, how far they are
-- loaded, how many are due, and what was cut.
SELECT count(*) FILTER (WHERE configured OR listed)                  AS customer_keys,
       min(loaded_through) FILTER (WHERE configured OR listed)       AS oldest_watermark,
       max(loaded_through) FILTER (WHERE configured OR listed)       AS newest_watermark,
       (SELECT count(*) FROM ops.webex_truncations)                  AS truncated_days
FROM ops.webex_keys
