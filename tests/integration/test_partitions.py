"""Monthly partitions of the fact and landing tables, against the real embedded Postgres:
made ahead by the load, a record whose day moved kept once, retention by whole months, and
the migration of a warehouse that predates them."""

from datetime import UTC, date, datetime
from typing import Any

import psycopg

from local_stack.launcher import LocalStack
from pipelines.model.events import MessageEvent, make_event_id
from pipelines.transport.paging import Page
from pipelines.warehouse.loading import LoadScope, LoadTarget, Stamp, load_pages
from pipelines.warehouse.retention import drop_months_before
from tests.integration.test_migrations import migrated_before

TARGET = LoadTarget(source="webex", raw_table="raw.webex_transactions")
STAMP = Stamp(pii_key="test-pii-key")
PARTITIONED = ("core.message_events", "raw.mgage_messages", "raw.senderguide_interactions",
               "raw.cinnox_campaign_recipients", "raw.webex_transactions")


def mapper(record: Any, context: dict[str, Any]) -> MessageEvent:
    return MessageEvent(
        event_id=make_event_id("webex", record["id"]), source="webex", channel="sms",
        direction="outbound", status_raw=record["status"],
        occurred_at=datetime.fromisoformat(record["at"]).replace(tzinfo=UTC),
        recipient="+15550000000", campaign_id="c1")


def no_state(*_: Any) -> None:
    """A scope without a daily partition keeps no ops.partition_loads row (Webex keeps its own)."""


def months(conn: psycopg.Connection, table: str) -> list[str]:
    """The month partitions of `table`, as YYYY_MM."""
    return [row[0][-7:] for row in conn.execute(
        "SELECT c.relname FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = %s::regclass ORDER BY 1", (table,))]


def test_a_load_makes_its_months_and_the_next_one_ahead(warehouse: psycopg.Connection) -> None:
    scope = LoadScope.day(LoadTarget(source="mgage", raw_table="raw.mgage_messages"), date(2031, 1, 31))
    load_pages(warehouse, scope, [], mapper, stamp=STAMP)
    for table in PARTITIONED:
        assert {"2031_01", "2031_02"} <= set(months(warehouse, table)), table
    assert "2031_03" not in months(warehouse, "core.message_events")


def test_a_stray_row_outside_the_scopes_months_gets_its_partition_in_the_load(
        warehouse: psycopg.Connection) -> None:
    """A Webex window says which months to make; a transaction dated outside it still lands."""
    scope = LoadScope(TARGET, "incremental", complete=False, days=(date(2032, 5, 1), date(2032, 5, 2)))
    stats = load_pages(warehouse, scope, [Page([{"id": 1, "status": "Sent", "at": "2029-02-03T10:00:00"}], {})],
                       mapper, stamp=STAMP, record_state=no_state)
    assert stats.inserted == 1
    assert "2029_02" in months(warehouse, "core.message_events")
    assert warehouse.execute("SELECT partition_date FROM core.message_events "
                             "WHERE source = 'webex'").fetchall() == [(date(2029, 2, 3),)]


def test_a_record_whose_day_moved_across_months_is_kept_once_with_its_history(
        warehouse: psycopg.Connection) -> None:
    scope = LoadScope(TARGET, "incremental", complete=False)
    load_pages(warehouse, scope, [Page([{"id": 7, "status": "Sent", "at": "2030-03-31T23:30:00"}], {})],
               mapper, stamp=STAMP, run_id="first", record_state=no_state)
    first_loaded = warehouse.execute("SELECT first_loaded_at FROM core.message_events").fetchone()
    stats = load_pages(warehouse, scope,
                       [Page([{"id": 7, "status": "Delivered", "at": "2030-04-01T00:30:00"}], {})],
                       mapper, stamp=STAMP, run_id="second", record_state=no_state)
    assert (stats.inserted, stats.updated, stats.moved) == (0, 1, 1)
    assert warehouse.execute(
        "SELECT partition_date, status_raw, first_loaded_at FROM core.message_events").fetchall() == [
        (date(2030, 4, 1), "Delivered", first_loaded[0])]
    assert warehouse.execute("SELECT partition_date FROM raw.webex_transactions").fetchall() == [
        (date(2030, 4, 1),)]
    assert warehouse.execute("SELECT from_status_raw, to_status_raw, run_id FROM core.status_history"
                             ).fetchall() == [("Sent", "Delivered", "second")]
    # Seen again as it is now: nothing changes.
    again = load_pages(warehouse, scope,
                       [Page([{"id": 7, "status": "Delivered", "at": "2030-04-01T00:30:00"}], {})],
                       mapper, stamp=STAMP, record_state=no_state)
    assert (again.inserted, again.updated, again.moved, again.unchanged) == (0, 0, 0, 1)


def test_retention_drops_whole_months_before_the_cutoff_and_nothing_else(
        warehouse: psycopg.Connection) -> None:
    scope = LoadScope(TARGET, "incremental", complete=False)
    load_pages(warehouse, scope, [Page([{"id": n, "status": "Sent", "at": at} for n, at in (
        (1, "2027-01-31T23:00:00"), (2, "2027-02-01T01:00:00"), (3, "2027-02-27T12:00:00"))], {})],
        mapper, stamp=STAMP, record_state=no_state)
    # The cutoff falls inside February: January goes whole (and any empty month before it that
    # other tests made), February stays whole.
    dropped = drop_months_before(warehouse, date(2027, 2, 15))
    assert date(2027, 1, 1) in dropped and max(dropped) == date(2027, 1, 1)
    assert warehouse.execute("SELECT count(*) FROM core.message_events").fetchone() == (2,)
    assert warehouse.execute("SELECT count(*) FROM raw.webex_transactions").fetchone() == (2,)
    for table in PARTITIONED:
        assert "2027_01" not in months(warehouse, table)
    assert drop_months_before(warehouse, date(2027, 2, 15)) == []  # again: nothing more


def test_an_unpartitioned_warehouse_moves_to_months_without_losing_a_row(stack: LocalStack) -> None:
    with migrated_before(stack, "partition_migration", "0013") as (url, apply_the_rest):
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("""
                INSERT INTO core.message_events (event_id, source, channel, direction, event_type,
                    status_raw, occurred_at, recipient, campaign_id, partition_date, recipient_pseudonym)
                SELECT 'mgage:' || n, 'mgage', 'sms', 'outbound', 'sent', 'Sent',
                       timestamptz '2026-10-15 00:00Z' + n * interval '1 hour', '+1555' || n, 'p1',
                       (timestamptz '2026-10-15 00:00Z' + n * interval '1 hour')::date, 'ps' || n
                FROM generate_series(1, 1500) AS n""")  # Oct 15 .. Dec 16: three months
            conn.execute("""
                INSERT INTO raw.mgage_messages (record_id, partition_date, context, payload)
                SELECT event_id, partition_date, '{}', jsonb_build_object('n', event_id)
                FROM core.message_events""")
            before = {table: conn.execute(f"SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) "  # fixed names
                                          f"FROM {table} AS t").fetchone() for table in PARTITIONED}
            view_before = conn.execute("SELECT count(*), count(DISTINCT recipient_pseudonym) "
                                       "FROM marts.message_events").fetchone()
        apply_the_rest()
        with psycopg.connect(url) as conn:
            after = {table: conn.execute(f"SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) "  # fixed names
                                         f"FROM {table} AS t").fetchone() for table in PARTITIONED}
            assert after == before
            assert conn.execute("SELECT count(*), count(DISTINCT recipient_pseudonym) "
                                "FROM marts.message_events").fetchone() == view_before == (1500, 1500)
            for table in PARTITIONED:
                assert conn.execute("SELECT relkind FROM pg_class WHERE oid = %s::regclass",
                                    (table,)).fetchone() == ("p",)
            assert months(conn, "core.message_events") == ["2026_10", "2026_11", "2026_12"]
            assert months(conn, "raw.webex_transactions") == ["2026_10", "2026_11", "2026_12"]
            indexes = {row[0] for row in conn.execute(
                "SELECT indexname FROM pg_indexes WHERE schemaname = 'core' AND tablename = 'message_events'")}
            assert {"message_events_pkey", "message_events_recipient_idx", "message_events_campaign_idx",
                    "message_events_recipient_pseudonym_idx", "message_events_linked_idx",
                    "message_events_occurred_at_brin"} <= indexes
            assert conn.execute("SELECT has_table_privilege('warehouse_loader', 'core.message_events', "
                                "'INSERT'), has_table_privilege('pii_reader', 'raw.mgage_messages', "
                                "'SELECT'), has_table_privilege('analyst', 'core.message_events', "
                                "'SELECT')").fetchone() == (True, True, False)
            assert conn.execute("SELECT to_regclass('core.message_events_unpartitioned')").fetchone() == (None,)
