"""The status history (core.status_history) against the real embedded Postgres: the load's own
merge records every change of an event's vendor status, in the load's transaction, once, under
the load's run; re-loading, shifting pages, a killed load and a re-map add nothing."""

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import psycopg
import pytest

from local_stack.launcher import LocalStack
from pipelines.model.events import MessageEvent, make_event_id
from pipelines.transport.paging import Page
from pipelines.warehouse.loading import LoadScope, LoadTarget, Stamp, load_pages
from pipelines.warehouse.remap import remap_source
from pipelines.warehouse.urls import libpq_url

MGAGE = LoadTarget("mgage", "raw.mgage_messages")
CINNOX = LoadTarget("cinnox", "raw.cinnox_campaign_recipients")
DAY = date(2026, 11, 16)
STAMP = Stamp(pii_key="history-test-key")


def map_record(record: dict[str, Any], context: dict[str, Any]) -> MessageEvent:
    """A hand-made record: its id, status, time and (optionally) campaign name."""
    source = context["source"]
    return MessageEvent(
        event_id=make_event_id(source, record["id"]), source=source,
        channel="whatsapp" if source == "cinnox" else "sms", direction="outbound",
        status_raw=record["status"], occurred_at=datetime.fromisoformat(record["at"]),
        recipient="+15550000001", campaign_id="P1", campaign_name=record.get("name"))


def page(source: str, *records: dict[str, Any]) -> Page:
    return Page(records=list(records), context={"source": source})


def message(n: int, status: str, at: str = "2026-11-16T10:00:00+00:00", **more: Any) -> dict[str, Any]:
    return {"id": n, "status": status, "at": at, **more}


@pytest.fixture
def loader(warehouse: psycopg.Connection, stack: LocalStack) -> Iterator[psycopg.Connection]:
    """The product's own login (the loader) on an emptied warehouse, history and marks included."""
    warehouse.execute("TRUNCATE core.status_history, ops.mart_dirty_days")
    with psycopg.connect(libpq_url(stack.warehouse_url), autocommit=True) as conn:
        yield conn


def load(conn: psycopg.Connection, *pages: Page, run_id: str = "run-1", chunk_rows: int = 10_000,
         target: LoadTarget = MGAGE) -> None:
    load_pages(conn, LoadScope.day(target, DAY, zone=None), pages, map_record, stamp=STAMP,
               run_id=run_id, chunk_rows=chunk_rows)


def history(conn: psycopg.Connection) -> list[tuple]:
    return conn.execute("""
        SELECT event_id, from_status_raw, to_status_raw, from_event_type, to_event_type, run_id
        FROM core.status_history ORDER BY event_id, history_id""").fetchall()


def event(n: int, source: str = "mgage") -> str:
    return make_event_id(source, n)


def test_a_status_change_is_recorded_once_with_its_run(loader: psycopg.Connection) -> None:
    load(loader, page("mgage", message(1, "Sent"), message(2, "Sent")), run_id="run-1")
    assert history(loader) == []  # first seen: no change yet
    load(loader, page("mgage", message(1, "Delivered"), message(2, "Sent")), run_id="run-2")
    assert history(loader) == [(event(1), "Sent", "Delivered", "sent", "delivered", "run-2")]
    load(loader, page("mgage", message(1, "Delivered"), message(2, "Sent")), run_id="run-3")
    assert len(history(loader)) == 1  # the same answer again: nothing new
    (observed, loaded), = loader.execute(
        "SELECT h.observed_at, e.loaded_at FROM core.status_history AS h "
        "JOIN core.message_events AS e USING (event_id)").fetchall()
    assert observed == loaded  # seen by run-2's transaction, which wrote the row


def test_a_change_that_is_not_a_status_records_nothing(loader: psycopg.Connection) -> None:
    load(loader, page("mgage", message(1, "Sent", name="Spring")))
    load(loader, page("mgage", message(1, "Sent", name="Spring sale")))
    assert loader.execute("SELECT campaign_name FROM core.message_events").fetchone() == ("Spring sale",)
    assert history(loader) == []


def test_the_vendors_time_of_each_status_is_kept(loader: psycopg.Connection) -> None:
    """CINNOX dates each status (lastUpdatedDateTime): both sides of the change keep theirs."""
    load(loader, page("cinnox", message(1, "Pending", "2026-11-16T09:00:00+00:00")), target=CINNOX)
    load(loader, page("cinnox", message(1, "Delivered", "2026-11-16T09:01:00+00:00")), target=CINNOX)
    assert loader.execute("SELECT from_status_raw, to_status_raw, from_event_type, to_event_type, "
                          "from_occurred_at, occurred_at FROM core.status_history").fetchall() == [
        ("Pending", "Delivered", "sent", "delivered",  # a WhatsApp Pending is already sent
         datetime(2026, 11, 16, 9, 0, tzinfo=UTC), datetime(2026, 11, 16, 9, 1, tzinfo=UTC))]


def test_reloading_pages_that_shift_between_chunks_adds_nothing(loader: psycopg.Connection) -> None:
    """A record seen twice in one load (the vendor's pages shifted while walked) is merged chunk
    by chunk; the load's changes fold into one per event, so the same pages again add none."""
    load(loader, page("mgage", message(1, "Delivered")))
    shifting = [page("mgage", message(1, "Sent")), page("mgage", message(1, "Delivered"))]
    load(loader, *shifting, chunk_rows=1, run_id="run-2")  # each page merges as its own chunk
    load(loader, *shifting, chunk_rows=1, run_id="run-3")
    assert history(loader) == []
    assert loader.execute("SELECT status_raw FROM core.message_events").fetchone() == ("Delivered",)


def test_changes_within_one_load_fold_into_one(loader: psycopg.Connection) -> None:
    load(loader, page("mgage", message(1, "Sent")))
    load(loader, page("mgage", message(1, "Delivered")), page("mgage", message(1, "Undelivered")),
         chunk_rows=1, run_id="run-2")
    assert history(loader) == [(event(1), "Sent", "Undelivered", "sent", "undelivered", "run-2")]


def test_a_killed_load_leaves_no_history(loader: psycopg.Connection) -> None:
    load(loader, page("mgage", message(1, "Sent")))

    def pages_then_crash() -> Iterator[Page]:
        yield page("mgage", message(1, "Delivered"))
        raise ConnectionError("the vendor went away")

    with pytest.raises(ConnectionError):
        load_pages(loader, LoadScope.day(MGAGE, DAY, zone=None), pages_then_crash(), map_record,
                   stamp=STAMP, run_id="run-2", chunk_rows=1)  # its chunk merged before the crash
    assert history(loader) == []
    assert loader.execute("SELECT count(*) FROM ops.mart_dirty_days").fetchone() == (1,)  # the first load's


def test_re_mapping_stored_records_adds_no_history(loader: psycopg.Connection,
                                                   warehouse: psycopg.Connection,
                                                   stack: LocalStack) -> None:
    """A re-map re-reads the same vendor statuses: even when the map now reads one as another
    event type, and the row changes, nothing was observed from the vendor."""
    load(loader, page("mgage", message(1, "Sent")))
    load(loader, page("mgage", message(1, "Delivered")), run_id="run-2")
    warehouse.execute("UPDATE core.event_type_map SET event_type = 'sent' "
                      "WHERE source = 'mgage' AND status_key = 'delivered'")
    try:
        with psycopg.connect(libpq_url(stack.warehouse_url), autocommit=True) as reader:
            stats = remap_source(loader, reader, MGAGE, map_record, stamp=STAMP, version=99,
                                 run_id="remap-run")
    finally:
        warehouse.execute("UPDATE core.event_type_map SET event_type = 'delivered' "
                          "WHERE source = 'mgage' AND status_key = 'delivered'")
        warehouse.execute("DELETE FROM ops.mapping_versions WHERE source = 'mgage'")
    assert stats.updated == 1  # the row took the new type...
    assert history(loader) == [(event(1), "Sent", "Delivered", "sent", "delivered", "run-2")]  # ...no change


def test_the_load_marks_the_days_it_touched_for_the_marts(loader: psycopg.Connection) -> None:
    """Every written row's UTC day, and the day a moved row left, in the load's transaction."""
    load(loader, page("cinnox", message(1, "Pending", "2026-11-16T23:59:00+00:00")), target=CINNOX)
    load(loader, page("cinnox", message(1, "Delivered", "2026-11-17T00:01:00+00:00")), target=CINNOX)
    load(loader, page("cinnox", message(1, "Delivered", "2026-11-17T00:01:00+00:00")), target=CINNOX)
    marks = loader.execute("SELECT day FROM ops.mart_dirty_days ORDER BY mark_id").fetchall()
    assert marks == [(date(2026, 11, 16),), (date(2026, 11, 16),), (date(2026, 11, 17),)]
