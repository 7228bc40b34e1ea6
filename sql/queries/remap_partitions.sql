-- The daily partitions a source's raw table holds, oldest first. The raw table is a fixed
-- identifier chosen by code.
SELECT DISTINCT partition_date FROM {raw_table} ORDER BY 1
