-- The same content fields, where a source keeps them in its events' attributes.
WITH stripped AS (
    UPDATE core.message_events
    SET attributes = attributes - %(fields)s::text[]
    WHERE source = %(source)s AND partition_date < %(cutoff)s AND attributes ?| %(fields)s::text[]
    RETURNING 1
)
SELECT count(*) FROM stripped
