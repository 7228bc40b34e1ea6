-- A Webex shard is pulled by one run at a time: a session lock on (shard, shard count), held
-- by the run's connection until it closes (a killed run's lock goes with its connection).
-- False when another run holds it.
SELECT pg_try_advisory_lock(hashtextextended('webex shard ' || %(shard)s || ' of ' || %(shard_count)s, 0))
