-- How many distinct records a load staged (its duplicates are the rest).
SELECT count(DISTINCT record_id) FROM stage_keys WHERE NOT rejected
