-- The UTC days a fresh load's direct COPY wrote, for the marts' refresh (the merge marks its own).
INSERT INTO ops.mart_dirty_days (day)
SELECT unnest(%(days)s::date[])
