"""The shared load path against the real embedded Postgres, with hand-made pages."""

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import psycopg
import pytest

from pipelines.model.events import MessageEvent, RecordRejected, make_event_id
from pipelines.transport.paging import Page
from pipelines.warehouse.loading import FormattedRows, LoadScope, LoadTarget, Stamp, load_pages

TARGET = LoadTarget(source="mgage", raw_table="raw.mgage_messages")
DAY = date(2026, 11, 20)
SCOPE = LoadScope.day(TARGET, DAY)
STAMP = Stamp(pii_key="test-pii-key")


def fake_mapper(record: Any, context: dict[str, Any]) -> MessageEvent:
    if record.get("bad"):
        raise RecordRejected(f"bad record: {record['bad']}")
    return MessageEvent(
        event_id=make_event_id("mgage", record["id"]), source="mgage", channel="sms",
        direction="outbound", status_raw=record["status"],
        occurred_at=datetime.fromisoformat(record["at"]).replace(tzinfo=UTC),
        recipient="+15550000000", campaign_id=context["program_id"])


def page(*records: dict) -> Page:
    return Page(records=list(records), context={"program_id": "1"})


def rec(n: int, status: str = "Sent", at: str = "2026-11-20T10:00:00") -> dict:
    return {"id": n, "status": status, "at": at}


def rows(conn: psycopg.Connection, table: str) -> list[tuple]:
    return conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()  # test-only, fixed names


def test_records_repeated_across_pages_load_once_as_last_seen(warehouse: psycopg.Connection) -> None:
    stats = load_pages(warehouse, SCOPE, [page(rec(1), rec(2)), page(rec(2, "Delivered"), rec(3))],
                       fake_mapper, stamp=STAMP)
    assert (stats.records_fetched, stats.duplicates, stats.inserted) == (4, 1, 3)
    statuses = dict(warehouse.execute(
        "SELECT campaign_id || ':' || event_id, status_raw FROM core.message_events").fetchall())
    assert sorted(statuses.values()) == ["Delivered", "Sent", "Sent"]
    assert warehouse.execute("SELECT count(*) FROM raw.mgage_messages").fetchone() == (3,)


def test_reloading_unchanged_data_changes_nothing(warehouse: psycopg.Connection) -> None:
    pages = [page(rec(1), rec(2))]
    load_pages(warehouse, SCOPE, pages, fake_mapper, stamp=STAMP)
    before = (rows(warehouse, "core.message_events"), rows(warehouse, "raw.mgage_messages"))
    stats = load_pages(warehouse, SCOPE, pages, fake_mapper, stamp=STAMP)
    assert (stats.inserted, stats.updated, stats.unchanged) == (0, 0, 2)
    assert (rows(warehouse, "core.message_events"), rows(warehouse, "raw.mgage_messages")) == before


def test_a_changed_status_updates_the_row_and_maps_through_the_table(warehouse: psycopg.Connection) -> None:
    load_pages(warehouse, SCOPE, [page(rec(1, "Sent"))], fake_mapper, stamp=STAMP)
    stats = load_pages(warehouse, SCOPE, [page(rec(1, "Delivered"))], fake_mapper, stamp=STAMP)
    assert (stats.inserted, stats.updated) == (0, 1)
    assert warehouse.execute("SELECT status_raw, event_type FROM core.message_events").fetchall() == [
        ("Delivered", "delivered")]


def test_unmapped_statuses_load_as_unknown_and_are_counted(warehouse: psycopg.Connection) -> None:
    stats = load_pages(warehouse, SCOPE, [page(rec(1, "Teleported"))], fake_mapper, stamp=STAMP)
    assert stats.unknown_status == 1
    assert warehouse.execute("SELECT event_type FROM core.message_events").fetchone() == ("unknown",)


def test_bad_records_go_to_quarantine_and_good_ones_still_load(warehouse: psycopg.Connection) -> None:
    stats = load_pages(warehouse, SCOPE, [page(rec(1), {"bad": "no date"}, rec(2))], fake_mapper, stamp=STAMP)
    assert (stats.inserted, stats.quarantined) == (2, 1)
    reason, payload, context = warehouse.execute(
        "SELECT reason, payload, context FROM ops.quarantine WHERE source = 'mgage'").fetchone()
    assert reason == "bad record: no date"
    assert payload == {"bad": "no date"} and context == {"program_id": "1"}


def test_a_corrected_record_leaves_quarantine(warehouse: psycopg.Connection) -> None:
    load_pages(warehouse, SCOPE, [page({"bad": "no date", "id": 9})], fake_mapper, stamp=STAMP)
    stats = load_pages(warehouse, SCOPE, [page(rec(9))], fake_mapper, stamp=STAMP)
    assert stats.inserted == 1
    assert warehouse.execute("SELECT count(*) FROM ops.quarantine").fetchone() == (0,)


def test_records_of_another_day_are_left_to_their_partition(warehouse: psycopg.Connection) -> None:
    stats = load_pages(warehouse, SCOPE, [page(rec(1), rec(2, at="2026-11-21T00:00:00"))], fake_mapper, stamp=STAMP)
    assert (stats.inserted, stats.out_of_window) == (1, 1)


def test_a_failure_mid_stream_leaves_the_warehouse_as_it_was(warehouse: psycopg.Connection) -> None:
    load_pages(warehouse, SCOPE, [page(rec(1, "Sent"))], fake_mapper, stamp=STAMP)
    before = rows(warehouse, "core.message_events"), rows(warehouse, "ops.partition_loads")

    def pages_then_crash():
        yield page(rec(1, "Delivered"), rec(2))
        raise ConnectionError("vendor went away")

    with pytest.raises(ConnectionError):
        load_pages(warehouse, SCOPE, pages_then_crash(), fake_mapper, stamp=STAMP)
    assert (rows(warehouse, "core.message_events"), rows(warehouse, "ops.partition_loads")) == before


def test_load_state_commits_with_the_rows(warehouse: psycopg.Connection) -> None:
    load_pages(warehouse, SCOPE, [page(rec(1), rec(2))], fake_mapper, stamp=STAMP, run_id="run-1")
    state = warehouse.execute(
        "SELECT run_id, pages, records_fetched, inserted FROM ops.partition_loads "
        "WHERE source = 'mgage' AND partition_date = %s", (DAY,)).fetchone()
    assert state == ("run-1", 1, 2, 2)


def test_an_incremental_scope_keeps_the_quarantine_of_days_it_did_not_see(warehouse: psycopg.Connection) -> None:
    incremental = LoadScope(TARGET, "key:someone", complete=False)
    no_state = lambda *args: None  # noqa: E731 - an incremental source records its own state
    load_pages(warehouse, incremental, [page({"bad": "first window"})], fake_mapper, stamp=STAMP, record_state=no_state)
    load_pages(warehouse, incremental, [page(rec(1))], fake_mapper, stamp=STAMP, record_state=no_state)  # next window
    assert warehouse.execute("SELECT reason FROM ops.quarantine").fetchall() == [("bad record: first window",)]


def test_a_record_repeated_in_a_later_chunk_is_a_duplicate_not_an_update(warehouse: psycopg.Connection) -> None:
    stats = load_pages(warehouse, SCOPE, [page(rec(1), rec(2)), page(rec(2, "Delivered"), rec(3))],
                       fake_mapper, stamp=STAMP, chunk_rows=2)  # each page merges as its own chunk
    assert (stats.inserted, stats.updated, stats.unchanged, stats.duplicates) == (3, 0, 0, 1)
    assert warehouse.execute(
        "SELECT count(*) FROM core.message_events WHERE status_raw = 'Delivered'").fetchone() == (1,)


def test_a_nul_character_quarantines_the_record_instead_of_failing_the_load(warehouse: psycopg.Connection) -> None:
    stats = load_pages(warehouse, SCOPE, [page(rec(1), {"id": 2, "status": "Sent\x00", "at": "2026-11-20T10:00:00"})],
                       fake_mapper, stamp=STAMP)
    assert (stats.inserted, stats.quarantined) == (1, 1)
    reason, payload = warehouse.execute("SELECT reason, payload FROM ops.quarantine").fetchone()
    assert "NUL" in reason and payload["status"] == "Sent\ufffd"


def test_rows_formatted_away_from_the_connection_copy_exactly_as_written(warehouse: psycopg.Connection) -> None:
    """A page's rows are formatted for COPY in the fetching thread (FormattedRows); what the
    server stores from them is what it stores from the same rows written one by one."""
    awkward = [("tab\there, new\nline, cr\r, back\\slash", None, date(2026, 2, 28),
                datetime(2026, 11, 20, 23, 59, 59, 123456, tzinfo=UTC), True, '{"k": "é\\u00e9 ✓"}'),
               ("", "\\N", date(1999, 12, 31), datetime(2026, 3, 29, 1, 30, tzinfo=UTC), False, "{}")]
    with warehouse.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE formatted (t text, n text, d date, ts timestamptz, b boolean, j jsonb)")
        cursor.execute("CREATE TEMP TABLE written (LIKE formatted)")
        with cursor.copy("COPY formatted FROM STDIN") as copy:
            copy.write(FormattedRows.of(warehouse.cursor(), awkward).data)
        with cursor.copy("COPY written FROM STDIN") as copy:
            for row in awkward:
                copy.write_row(row)
    assert rows(warehouse, "formatted") == rows(warehouse, "written")
    assert [row[:5] for row in rows(warehouse, "formatted")] == sorted(row[:5] for row in awkward)


def test_the_next_page_is_asked_for_while_a_page_is_mapped(warehouse: psycopg.Connection) -> None:
    """Against a vendor that answers fast (no pages side by side), the wait for its next page
    overlaps the mapping of this one, rather than following it."""
    second_asked = threading.Event()
    overlapped: list[bool] = []

    def pages() -> Iterator[Page]:
        yield page(rec(1))
        second_asked.set()
        yield page(rec(2))

    def mapper(record: Any, context: dict[str, Any]) -> MessageEvent:
        if record["id"] == 1:  # the first page's mapping waits (boundedly) for the second's request
            overlapped.append(second_asked.wait(timeout=30))
        return fake_mapper(record, context)

    stats = load_pages(warehouse, SCOPE, pages(), mapper, stamp=STAMP)
    assert overlapped == [True]
    assert stats.inserted == 2
