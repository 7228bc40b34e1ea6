-- Strip a source's message content (bodies, preview links: the payload fields its definition
-- names) from raw records of days before the cutoff. The rest of each record stays, so
-- reconciliation and re-mapping still work. {raw_table} is a fixed name chosen by code.
WITH stripped AS (
    UPDATE {raw_table}
    SET payload = payload - %(fields)s::text[]
    WHERE partition_date < %(cutoff)s AND payload ?| %(fields)s::text[]
    RETURNING 1
)
SELECT count(*) FROM stripped
