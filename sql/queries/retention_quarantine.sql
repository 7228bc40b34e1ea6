-- Quarantined payloads (whole vendor records, personal data and all) quarantined before the
-- cutoff: the row, its reason and context stay, so the check still counts it; the payload goes.
WITH purged AS (
    UPDATE ops.quarantine
    SET payload = '{"purged_by_retention": true}'::jsonb
    WHERE quarantined_at < %(cutoff)s AND payload <> '{"purged_by_retention": true}'::jsonb
    RETURNING 1
)
SELECT count(*) FROM purged
