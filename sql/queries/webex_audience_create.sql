-- What the audience query (sql/audiences/webex_keys.sql) returns, for one refresh's transaction.
CREATE TEMPORARY TABLE webex_audience (key text, seen_at timestamptz) ON COMMIT DROP
