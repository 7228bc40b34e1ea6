-- One partition's stored raw records, each with the context it was fetched in.
SELECT record_id, context, payload FROM {raw_table} WHERE partition_date = %(partition_date)s
ORDER BY record_id
