-- The data team's audience query, composed in as a subquery (a statement with parameters
-- must be a plain INSERT ... SELECT, not CREATE TABLE AS).
INSERT INTO webex_audience (key, seen_at)
SELECT key, seen_at FROM (
{audience}
) AS audience
