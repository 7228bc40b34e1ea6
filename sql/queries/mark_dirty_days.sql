-- The UTC days a fresh load's direct COPY wrote, for the marts' refresh (the merge marks its own).
INSERT INTO ops.mart_dirty_days (day)
SELECT DISTINCT day FROM unnest(%(days)s::date[]) AS day
