-- Webex is pulled per key from a watermark: how far the keys are loaded, and what was cut.
SELECT count(*)                                              AS customer_keys,
       min(loaded_through)                                   AS oldest_watermark,
       max(loaded_through)                                   AS newest_watermark,
       (SELECT count(*) FROM ops.webex_truncations)          AS truncated_days
FROM ops.webex_key_state
