-- Serialize loads of one source partition; released when the transaction ends.
SELECT pg_advisory_xact_lock(hashtextextended(%(source)s || '/' || %(partition_date)s::text, 0))
