-- A partition's quarantine reflects its latest load: records the vendor no longer sends
-- (typically because it corrected them) leave quarantine.
DELETE FROM ops.quarantine AS q
WHERE q.source = %(source)s
  AND q.partition_date = %(partition_date)s
  AND NOT EXISTS (
      SELECT 1 FROM stage_records AS s
      WHERE s.reject_reason IS NOT NULL AND s.record_id = q.record_hash)
