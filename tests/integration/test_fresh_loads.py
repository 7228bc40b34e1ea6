"""A fresh day's direct COPY (pipelines/warehouse/fresh.py) against the real embedded Postgres:
it leaves exactly what the merge leaves, and steps aside wherever a record might be stored."""

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg import sql

from local_stack.launcher import LocalStack
from pipelines.model.events import MessageEvent, RecordRejected, make_event_id
from pipelines.transport.paging import Page
from pipelines.warehouse import event_sql
from pipelines.warehouse.loading import (
    MOVE_WINDOW_DAYS,
    FormattedRows,
    LoadScope,
    LoadStats,
    LoadTarget,
    Stamp,
    load_pages,
    load_scope,
    stage_rows,
)
from pipelines.warehouse.urls import libpq_url

# mGage dates a record by its key; a target that does not may find it under a neighbouring day.
DAY_IN_KEY = LoadTarget("mgage", "raw.mgage_messages", content_keyed=True, day_in_key=True)
MOVABLE = LoadTarget("mgage", "raw.mgage_messages")
DAY = date(2026, 11, 20)
STAMP = Stamp(pii_key="test-pii-key")
WRITTEN_TABLES = ["core.message_events", "raw.mgage_messages", "core.status_history", "ops.quarantine",
                  "ops.partition_loads", "ops.mart_dirty_days"]


def mapper(record: Any, context: dict[str, Any]) -> MessageEvent:
    if record.get("bad"):
        raise RecordRejected(f"bad record: {record['bad']}")
    return MessageEvent(
        event_id=make_event_id("mgage", record["id"]), source="mgage", channel="sms",
        direction="outbound", status_raw=record["status"],
        occurred_at=datetime.fromisoformat(record.get("at", "2026-11-20T10:00:00")).replace(tzinfo=UTC),
        recipient=f"+1555000{record['id']:04d}", campaign_id=context["program_id"],
        campaign_name="Tuesday", error_code=record.get("error"),
        attributes={"network": "T-Mobile", "n": record["id"]})


def page(*records: dict) -> Page:
    return Page(records=list(records), context={"program_id": "1"})


def rec(n: int, status: str = "Sent", **more: Any) -> dict:
    return {"id": n, "status": status} | more


def stored(conn: psycopg.Connection) -> dict[str, list[tuple]]:
    """What a load left, but for the times and run ids it was written at."""
    return {
        "events": conn.execute(
            "SELECT event_id, source, channel, direction, event_type, status_raw, occurred_at, recipient,"
            " recipient_pseudonym, campaign_id, campaign_name, error_code, attributes, partition_date, sandbox,"
            " first_loaded_at = loaded_at FROM core.message_events ORDER BY 1").fetchall(),
        "raw": conn.execute("SELECT record_id, partition_date, context, payload FROM raw.mgage_messages"
                            " ORDER BY 1").fetchall(),
        "history": conn.execute("SELECT count(*) FROM core.status_history").fetchall(),
        "quarantine": conn.execute("SELECT record_hash, partition_date, reason, context, payload"
                                   " FROM ops.quarantine ORDER BY 1").fetchall(),
        "loads": conn.execute(
            "SELECT partition_date, pages, records_fetched, duplicates, inserted, updated, unchanged,"
            " quarantined, unknown_status, out_of_window FROM ops.partition_loads").fetchall(),
        "dirty_days": conn.execute("SELECT DISTINCT day FROM ops.mart_dirty_days ORDER BY 1").fetchall(),
    }


def empty(conn: psycopg.Connection) -> None:
    conn.execute(f"TRUNCATE {', '.join(WRITTEN_TABLES)}")  # test-only, fixed names


# Repeats across pages and chunks (as last seen), a rejected record, a NUL, a status the map
# spells otherwise, one nobody mapped, a record of the next day (another day's, left out), and
# one whose text holds what COPY escapes.
AWKWARD = [
    page(rec(1), rec(2), rec(3, "Delivered"), {"bad": "no number"}),
    page(rec(2, "Delivered"), rec(4, "  delivered "), rec(5, "Teleported"), rec(6, error="E1")),
    page(rec(7), rec(1, "Undelivered", error="E2"), rec(8, "Teleported"), rec(9, at="2026-11-21T00:00:00")),
    page(rec(10, "Sent\x00"), rec(11, "  delivered "), rec(2, "Delivered"), rec(12)),
    page(rec(13, note='a \\ "quoted"\tword\r\n')),  # what COPY's text format escapes
]


@pytest.mark.parametrize("chunk_rows", [3, 1000])
def test_a_fresh_day_loaded_directly_is_what_the_merge_leaves(warehouse: psycopg.Connection,
                                                              chunk_rows: int) -> None:
    scope = LoadScope.day(DAY_IN_KEY, DAY)
    empty(warehouse)  # the fixture keeps what other tests marked for the marts
    direct = load_pages(warehouse, scope, AWKWARD, mapper, stamp=STAMP, chunk_rows=chunk_rows)
    left_by_direct = stored(warehouse)
    empty(warehouse)
    merged = load_pages(warehouse, scope, AWKWARD, mapper, stamp=STAMP, chunk_rows=chunk_rows, fast_path=False)
    assert stored(warehouse) == left_by_direct
    assert direct.inserted_direct > 0 and merged.inserted_direct == 0
    assert {**vars(direct), "inserted_direct": 0} == vars(merged)
    assert (direct.inserted, direct.duplicates, direct.quarantined, direct.out_of_window, direct.unknown_status) == (
        11, 3, 2, 1, 2)


def test_a_day_that_holds_rows_is_merged(warehouse: psycopg.Connection) -> None:
    scope = LoadScope.day(DAY_IN_KEY, DAY)
    first = load_pages(warehouse, scope, [page(rec(1), rec(2))], mapper, stamp=STAMP)
    again = load_pages(warehouse, scope, [page(rec(1), rec(2, "Delivered"), rec(3))], mapper, stamp=STAMP)
    assert (first.inserted, first.inserted_direct) == (2, 2)
    assert (again.inserted, again.updated, again.unchanged, again.inserted_direct) == (1, 1, 1, 0)


@pytest.mark.parametrize(("target", "direct"), [(MOVABLE, 0), (DAY_IN_KEY, 1)])
def test_a_neighbouring_day_holds_back_a_record_that_could_move(warehouse: psycopg.Connection,
                                                               target: LoadTarget, direct: int) -> None:
    """A record whose day may be corrected could be stored under the day before: its load must
    merge (and move it) rather than COPY it beside itself. One dated by its key cannot."""
    yesterday = DAY - timedelta(days=1)
    load_pages(warehouse, LoadScope.day(target, yesterday), [page(rec(1, at="2026-11-19T10:00:00"))],
               mapper, stamp=STAMP)
    stats = load_pages(warehouse, LoadScope.day(target, DAY), [page(rec(2))], mapper, stamp=STAMP)
    assert (stats.inserted, stats.inserted_direct) == (1, direct)


def test_a_status_the_merge_types_goes_direct_after_it(warehouse: psycopg.Connection) -> None:
    """Pages formatted after a merge (here one by one, in this thread) know what it typed."""
    scope = LoadScope.day(DAY_IN_KEY, DAY)
    stats = LoadStats("mgage", scope.key)
    with load_scope(warehouse, scope, stats, chunk_rows=1, fast_path=True) as load:
        assert load.fresh is not None
        for records in ([rec(1, "Teleported")], [rec(2, "Teleported"), rec(3, "Teleported")]):
            rows = stage_rows(page(*records), mapper, scope, stats, STAMP)
            load.add_formatted(FormattedRows.of(warehouse.cursor(), rows, load.fresh))
    # The first is staged and merged (nobody mapped it); its type, learnt, lets the others through.
    assert (stats.inserted, stats.inserted_direct, stats.unknown_status) == (3, 2, 3)


def test_stats_of_a_fresh_load_reach_the_load_state(warehouse: psycopg.Connection) -> None:
    stats: LoadStats = load_pages(warehouse, LoadScope.day(DAY_IN_KEY, DAY), AWKWARD[:2], mapper,
                                  stamp=STAMP, run_id="run-1")
    state = warehouse.execute("SELECT run_id, inserted, duplicates, quarantined FROM ops.partition_loads").fetchone()
    assert state == ("run-1", stats.inserted, stats.duplicates, stats.quarantined)


def scans(plan: dict) -> Iterator[tuple[str, str, str | None]]:
    """Each scan of a table in an EXPLAIN (FORMAT JSON) plan: relation, alias, index condition."""
    if "Relation Name" in plan:
        yield plan["Relation Name"], plan["Alias"], plan.get("Index Cond")
    for child in plan.get("Plans", []):
        yield from scans(child)


def test_a_partition_analyzed_mid_load_is_still_probed_by_key(warehouse: psycopg.Connection,
                                                              stack: LocalStack) -> None:
    """Autovacuum may analyze a month partition while a load writes it: it counts the load's
    uncommitted rows as dead, and leaves the partition with pages but no rows. The planner then
    took the partition for one row, and read it whole once per record a chunk staged (seen in
    `make bench`: 8 s for a chunk of 15 records after 150,000 in a fresh day). The merge and the
    look-up of moved records find each record by its key whatever the statistics say."""
    scope = LoadScope.day(MOVABLE, DAY)
    stats = LoadStats("mgage", scope.key)
    with load_scope(warehouse, scope, stats, chunk_rows=2_000, fast_path=True) as load:
        assert load.fresh is not None
        rows = stage_rows(page(*(rec(n) for n in range(2_000))), mapper, scope, stats, STAMP)
        load.add_formatted(FormattedRows.of(warehouse.cursor(), rows, load.fresh))
        assert stats.inserted == 2_000  # uncommitted: the load goes on
        with psycopg.connect(libpq_url(stack.migration_url), autocommit=True) as autovacuum:
            autovacuum.execute("ANALYZE core.message_events, raw.mgage_messages")
            assert autovacuum.execute(
                "SELECT count(*) FROM pg_class WHERE relname IN ('message_events_2026_11', 'mgage_messages_2026_11')"
                " AND reltuples = 0 AND relpages > 0").fetchone() == (2,)
        for statement, params, probes in (
                (event_sql.merge_stage(MOVABLE.raw_table), {"run_id": None}, {"e"}),
                (event_sql.relocate_moved(MOVABLE.raw_table), {"move_window": MOVE_WINDOW_DAYS}, {"r", "e"})):
            [(explained,)] = warehouse.execute(sql.SQL("EXPLAIN (FORMAT JSON) ") + statement, params).fetchall()
            # A partition's alias is its table's, numbered: e_1, e_2...
            looked_up = [(alias.rstrip("0123456789").removesuffix("_"), condition)
                         for table, alias, condition in scans(explained[0]["Plan"]) if table.endswith("_2026_11")]
            looked_up = [(alias, condition) for alias, condition in looked_up if alias in probes]
            assert {alias for alias, _ in looked_up} == probes, explained
            assert all(condition and ("event_id = " in condition or "record_id = " in condition)
                       for _, condition in looked_up), looked_up
