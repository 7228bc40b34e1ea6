-- Whether a daily load finds its source's days empty: nothing in the raw table or in
-- core.message_events on the load's day, nor on the days a record could be moved from
-- (relocate_moved.sql). Then every record it stages is new unless the load itself saw it
-- before, and its new records may be COPYed straight into both tables
-- (pipelines/warehouse/fresh.py). Asked under the scope's lock, in the load's transaction.
SELECT NOT EXISTS (SELECT 1 FROM {raw_table}
                   WHERE partition_date BETWEEN %(first_day)s AND %(last_day)s)
   AND NOT EXISTS (SELECT 1 FROM core.message_events
                   WHERE source = %(source)s AND partition_date BETWEEN %(first_day)s AND %(last_day)s)
