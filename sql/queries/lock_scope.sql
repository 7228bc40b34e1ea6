-- Serialize loads of one source scope; released when the transaction ends.
SELECT pg_advisory_xact_lock(hashtextextended(%(source)s || '/' || %(scope)s, 0))
