-- Webex loads by key from a watermark, so its quarantine is not replaced scope by scope:
-- instead, a quarantined transaction leaves quarantine when the vendor sends it again usable
-- and it loads (same transaction-id). Runs inside the batch's transaction, after its merge.
DELETE FROM ops.quarantine AS q
USING stage_keys AS k
JOIN raw.webex_transactions AS r ON r.record_id = k.record_id
WHERE q.source = 'webex'
  AND NOT k.rejected
  AND q.payload ->> 'transaction-id' = r.payload ->> 'transaction-id'
