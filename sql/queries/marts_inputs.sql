-- What the mart tables are computed under: the migrations applied and each source's mapping
-- rules (with when its rows were last re-mapped). Either can rewrite core without a load
-- marking the days it changed, so a refresh that finds them changed rebuilds the marts whole.
SELECT md5(coalesce((SELECT string_agg(migration_id, ',' ORDER BY migration_id)
                     FROM public._yoyo_migration), '')
           || '|' ||
           coalesce((SELECT string_agg(source || ':' || version || ':' || remapped_at, ',' ORDER BY source)
                     FROM ops.mapping_versions), ''))
