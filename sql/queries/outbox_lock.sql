-- One run of an activation at a time (held by the session; a killed run's dies with it).
SELECT pg_try_advisory_lock(hashtextextended('activation/' || %(activation)s, 0))
