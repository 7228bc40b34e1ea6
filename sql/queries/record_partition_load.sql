INSERT INTO ops.partition_loads (
    source, partition_date, run_id, pages, records_fetched, duplicates,
    inserted, updated, unchanged, quarantined, unknown_status, out_of_window, loaded_at)
VALUES (
    %(source)s, %(partition_date)s, %(run_id)s, %(pages)s, %(records_fetched)s, %(duplicates)s,
    %(inserted)s, %(updated)s, %(unchanged)s, %(quarantined)s, %(unknown_status)s,
    %(out_of_window)s, now())
ON CONFLICT (source, partition_date) DO UPDATE
SET run_id = excluded.run_id, pages = excluded.pages, records_fetched = excluded.records_fetched,
    duplicates = excluded.duplicates, inserted = excluded.inserted, updated = excluded.updated,
    unchanged = excluded.unchanged, quarantined = excluded.quarantined,
    unknown_status = excluded.unknown_status, out_of_window = excluded.out_of_window,
    loaded_at = now()
