-- Remember the keys of the chunk just merged before its rows are cleared.
INSERT INTO stage_keys (record_id, partition_date, rejected)
SELECT record_id, partition_date, reject_reason IS NOT NULL FROM stage_records
