-- A fresh load's new records, straight into their raw landing table (a code constant).
COPY {raw_table} (record_id, partition_date, context, payload) FROM STDIN
