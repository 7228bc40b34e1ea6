-- The marks this refresh recomputed leave; a load that committed since keeps its own. The UTC
-- days recomputed, for the run's metadata.
WITH consumed AS (
    DELETE FROM ops.mart_dirty_days AS m
    USING refresh_marks AS r
    WHERE m.mark_id = r.mark_id
)
SELECT DISTINCT day FROM refresh_marks ORDER BY day
