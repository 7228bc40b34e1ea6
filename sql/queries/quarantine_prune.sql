-- A scope's quarantine reflects its latest load: records the vendor no longer sends
-- (typically because it corrected them) leave quarantine.
DELETE FROM ops.quarantine AS q
WHERE q.source = %(source)s
  AND q.scope = %(scope)s
  AND NOT EXISTS (
      SELECT 1 FROM stage_keys AS k WHERE k.rejected AND k.record_id = q.record_hash)
