INSERT INTO ops.mapping_versions (source, version, run_id, remapped_at)
VALUES (%(source)s, %(version)s, %(run_id)s, now())
ON CONFLICT (source) DO UPDATE
SET version = excluded.version, run_id = excluded.run_id, remapped_at = now()
