-- depends: 0012_status_history_and_marts
-- The fact table and the landing tables become range-partitioned by month of partition_date
-- (Postgres declarative partitioning), so that a daily load and a "last 7 days" query touch
-- the current month's tables and indexes, however many months the warehouse holds, and so
-- that retention drops whole months instead of deleting rows.
--
-- A partitioned table's unique keys must include its partition key: the keys become
-- (event_id, partition_date) and (record_id, partition_date). partition_date is stable per
-- record for every source (it is the day of a timestamp the record's id is made from, or its
-- campaign's send day), and the loader moves a record whose day was corrected rather than
-- keeping it twice (sql/queries/relocate_moved.sql).
--
-- Each table is rebuilt once, in this migration's transaction, so an existing warehouse moves
-- whole or not at all: rows are copied, then the views over the old table, its indexes,
-- comments and grants are carried over from the catalog, and the old table is dropped.

-- The month partitions a set of days needs, created where missing, for every partitioned
-- table of raw and core. The loader calls it (before a load, for the days the load will write
-- and a month ahead), so it runs as its owner, the migrator: the loader itself has no DDL
-- rights. One caller at a time; a month that exists costs a catalog look-up, no lock.
CREATE FUNCTION core.ensure_month_partitions(days date[]) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    parent  record;
    month   date;
    name    text;
    created integer := 0;
    locked  boolean := false;
BEGIN
    FOR month IN SELECT DISTINCT date_trunc('month', day)::date FROM unnest(days) AS day
                 WHERE day IS NOT NULL ORDER BY 1 LOOP
        FOR parent IN
            SELECT n.nspname AS schema_name, c.relname AS table_name
            FROM pg_partitioned_table AS p
            JOIN pg_class AS c ON c.oid = p.partrelid
            JOIN pg_namespace AS n ON n.oid = c.relnamespace
            WHERE n.nspname IN ('raw', 'core')
            ORDER BY 1, 2
        LOOP
            name := format('%s_%s', parent.table_name, to_char(month, 'YYYY_MM'));
            CONTINUE WHEN to_regclass(format('%I.%I', parent.schema_name, name)) IS NOT NULL;
            IF NOT locked THEN
                PERFORM pg_advisory_xact_lock(hashtext('core.ensure_month_partitions'));
                locked := true;
                -- Another caller may have made it while this one waited.
                CONTINUE WHEN to_regclass(format('%I.%I', parent.schema_name, name)) IS NOT NULL;
            END IF;
            EXECUTE format('CREATE TABLE %I.%I PARTITION OF %I.%I FOR VALUES FROM (%L) TO (%L)',
                           parent.schema_name, name, parent.schema_name, parent.table_name,
                           month, (month + interval '1 month')::date);
            created := created + 1;
        END LOOP;
    END LOOP;
    RETURN created;
END
$$;
COMMENT ON FUNCTION core.ensure_month_partitions(date[]) IS
    'Creates the month partitions of every partitioned raw and core table that the given days need; the number created';
REVOKE ALL ON FUNCTION core.ensure_month_partitions(date[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION core.ensure_month_partitions(date[]) TO warehouse_loader;

-- Retention by month: every partition whose whole month is before `cutoff` is dropped, from
-- every partitioned raw and core table; the months dropped. Dropping a partition takes no
-- row-by-row work and leaves no dead rows behind.
CREATE FUNCTION core.drop_month_partitions_before(cutoff date) RETURNS SETOF date
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    part record;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('core.ensure_month_partitions'));
    FOR part IN
        SELECT n.nspname AS schema_name, c.relname AS table_name,
               (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''([0-9-]+)''\)'))[1]::date AS upper_bound,
               (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \(''([0-9-]+)''\)'))[1]::date AS lower_bound
        FROM pg_inherits AS i
        JOIN pg_partitioned_table AS p ON p.partrelid = i.inhparent
        JOIN pg_class AS parent ON parent.oid = i.inhparent
        JOIN pg_namespace AS pn ON pn.oid = parent.relnamespace
        JOIN pg_class AS c ON c.oid = i.inhrelid
        JOIN pg_namespace AS n ON n.oid = c.relnamespace
        WHERE pn.nspname IN ('raw', 'core')
        ORDER BY 3, 1, 2
    LOOP
        CONTINUE WHEN part.upper_bound IS NULL OR part.upper_bound > cutoff;
        EXECUTE format('DROP TABLE %I.%I', part.schema_name, part.table_name);
        RETURN NEXT part.lower_bound;
    END LOOP;
END
$$;
COMMENT ON FUNCTION core.drop_month_partitions_before(date) IS
    'Drops the month partitions of raw and core that end on or before cutoff; the first day of each month dropped (once per table)';
REVOKE ALL ON FUNCTION core.drop_month_partitions_before(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION core.drop_month_partitions_before(date) TO warehouse_loader;

-- Rebuilds one table as partitioned by month, within this transaction (a helper of this
-- migration only, dropped at its end).
CREATE FUNCTION pg_temp.partition_by_month(target regclass, key_column text) RETURNS void
    LANGUAGE plpgsql
AS $$
DECLARE
    schema_name text;
    table_name  text;
    old_name    text;
    old_table   regclass;
    months      date[];
    definition  record;
    index_defs  text[];
    index_def   text;
    grant_row   record;
BEGIN
    SELECT n.nspname, c.relname INTO schema_name, table_name
    FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace WHERE c.oid = target;
    old_name := table_name || '_unpartitioned';
    EXECUTE format('ALTER TABLE %I.%I RENAME TO %I', schema_name, table_name, old_name);
    old_table := format('%I.%I', schema_name, old_name)::regclass;

    EXECUTE format('CREATE TABLE %I.%I (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS '
                   'INCLUDING COMMENTS INCLUDING STORAGE INCLUDING COMPRESSION) '
                   'PARTITION BY RANGE (partition_date)', schema_name, table_name, old_table);
    EXECUTE format('COMMENT ON TABLE %I.%I IS %L', schema_name, table_name,
                   obj_description(old_table, 'pg_class'));

    EXECUTE format('SELECT array_agg(DISTINCT partition_date) FROM %s', old_table) INTO months;
    PERFORM core.ensure_month_partitions(coalesce(months, '{}'));
    EXECUTE format('INSERT INTO %I.%I SELECT * FROM %s', schema_name, table_name, old_table);

    -- Views over the old table now read the new one (their definitions name the old table,
    -- whose name is unique to this migration); their grants, owners and comments stay.
    FOR definition IN
        SELECT DISTINCT v.oid::regclass AS view_name, pg_get_viewdef(v.oid) AS body
        FROM pg_depend AS d
        JOIN pg_rewrite AS r ON r.oid = d.objid
        JOIN pg_class AS v ON v.oid = r.ev_class
        WHERE d.refobjid = old_table AND v.oid <> old_table AND v.relkind = 'v'
    LOOP
        EXECUTE format('CREATE OR REPLACE VIEW %s AS %s', definition.view_name,
                       replace(definition.body, old_name, table_name));
    END LOOP;

    -- Its secondary indexes, by their own definitions, once the old table has freed the names.
    -- (A partitioned table's key must include the partition day: the old key is not copied.)
    SELECT array_agg(pg_get_indexdef(i.indexrelid)) INTO index_defs
    FROM pg_index AS i WHERE i.indrelid = old_table AND NOT i.indisprimary;
    FOR grant_row IN
        SELECT g.grantee::regrole AS grantee, g.privilege_type
        FROM pg_class AS c, aclexplode(c.relacl) AS g
        WHERE c.oid = old_table AND g.grantee <> c.relowner AND g.grantee <> 0
    LOOP
        EXECUTE format('GRANT %s ON %I.%I TO %s', grant_row.privilege_type, schema_name,
                       table_name, grant_row.grantee);
    END LOOP;
    EXECUTE format('DROP TABLE %s', old_table);
    -- Keys and indexes are built once the rows are in: faster than maintaining them row by row.
    EXECUTE format('ALTER TABLE %I.%I ADD CONSTRAINT %I PRIMARY KEY (%I, partition_date)',
                   schema_name, table_name, table_name || '_pkey', key_column);
    FOREACH index_def IN ARRAY coalesce(index_defs, '{}') LOOP
        EXECUTE replace(index_def, format(' ON %I.%I ', schema_name, old_name),
                        format(' ON %I.%I ', schema_name, table_name));
    END LOOP;
END
$$;

DO $$
BEGIN
    PERFORM pg_temp.partition_by_month('core.message_events', 'event_id');
    PERFORM pg_temp.partition_by_month('raw.mgage_messages', 'record_id');
    PERFORM pg_temp.partition_by_month('raw.senderguide_interactions', 'record_id');
    PERFORM pg_temp.partition_by_month('raw.cinnox_campaign_recipients', 'record_id');
    PERFORM pg_temp.partition_by_month('raw.webex_transactions', 'record_id');
    -- Every table gets the months of the events, so that they all have the same months.
    PERFORM core.ensure_month_partitions(ARRAY(
        SELECT DISTINCT date_trunc('month', partition_date)::date FROM core.message_events));
END
$$;
DROP FUNCTION pg_temp.partition_by_month(regclass, text);
