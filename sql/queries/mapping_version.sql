-- The mapping rules a source's stored rows were made with (1: before versions were kept).
SELECT coalesce((SELECT version FROM ops.mapping_versions WHERE source = %(source)s), 1)
