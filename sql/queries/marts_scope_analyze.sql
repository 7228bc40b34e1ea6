-- Statistics of the refresh's scope, once it is filled: temporary tables are never analyzed by
-- autovacuum.
ANALYZE refresh_days, refresh_messages, refresh_campaigns, refresh_recipients;
-- Even so the planner cannot see that a message's events match its key on all three columns
-- at once (source, recipient, message key): it takes their join for a handful of rows and
-- plans every later step as nested loops, quadratic in a day's messages (hours at 200,000).
-- A refresh reads whole days: hash and merge joins are the right plans for all of it.
SET LOCAL enable_nestloop = off
