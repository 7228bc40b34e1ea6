"""Retention of message content (pipelines/warehouse/retention.py and its job), against the
real warehouse: off by default; when on, old bodies, preview links and quarantined payloads
go, everything else stays, and a second run changes nothing."""

from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest

from local_stack.launcher import LocalStack
from pipelines.model import clock
from pipelines.model.events import MessageEvent, RecordRejected, make_event_id
from pipelines.transport.paging import Page
from pipelines.warehouse.loading import LoadScope, LoadTarget, Stamp, load_pages
from pipelines.warehouse.urls import libpq_url
from tests.support import events_snapshot, run_job

TARGET = LoadTarget("webex", "raw.webex_transactions")
RETENTION_DAYS = 30


def map_record(record: dict, context: dict) -> MessageEvent:
    if record.get("broken"):
        raise RecordRejected("broken")
    return MessageEvent(
        event_id=make_event_id("webex", record["id"]), source="webex", channel="sms",
        direction="outbound", status_raw="Sent", recipient="+15550002222",
        occurred_at=datetime.combine(date.fromisoformat(record["day"]), datetime.min.time(), UTC),
        attributes={"msg_preview_url": "https://preview.test/" + record["id"], "deployment_id": "d"})


def load_day(stack: LocalStack, day: date) -> None:
    records = [{"id": f"{day}-ok", "day": day.isoformat(), "msg_preview_url": "https://preview.test/x",
                "key": "15550002222"},
               {"id": f"{day}-bad", "broken": True}]
    with psycopg.connect(libpq_url(stack.warehouse_url)) as conn:
        load_pages(conn, LoadScope.day(TARGET, day), [Page(records, {})], map_record, stamp=Stamp("k"))


def content(conn: psycopg.Connection) -> dict[date, tuple]:
    rows = conn.execute("""
        SELECT r.partition_date, r.payload ? 'msg_preview_url', e.attributes ? 'msg_preview_url',
               r.payload ? 'key', e.attributes ? 'deployment_id'
        FROM raw.webex_transactions AS r JOIN core.message_events AS e ON e.event_id = r.record_id""")
    return {row[0]: row[1:] for row in rows}


def quarantined(conn: psycopg.Connection) -> dict[date, bool]:
    return {day: purged for day, purged in conn.execute(
        "SELECT partition_date, payload ? 'purged_by_retention' FROM ops.quarantine")}


@pytest.fixture
def old_and_new(warehouse: psycopg.Connection, stack: LocalStack) -> tuple[date, date]:
    today = clock.today()
    old, new = today - timedelta(days=RETENTION_DAYS + 1), today - timedelta(days=RETENTION_DAYS - 1)
    for day in (old, new):
        load_day(stack, day)
        # Quarantine times are the server's clock; place each where its day is.
        warehouse.execute("UPDATE ops.quarantine SET quarantined_at = %s WHERE partition_date = %s",
                          (datetime.combine(day, datetime.min.time(), UTC), day))
    return old, new


def test_retention_is_off_by_default(stack: LocalStack, warehouse: psycopg.Connection,
                                     old_and_new: tuple[date, date]) -> None:
    before = events_snapshot(warehouse)
    assert stack.environment["PIPELINES_RETENTION_DAYS"] == "0"
    assert run_job("warehouse_retention").success
    assert events_snapshot(warehouse) == before
    assert set(content(warehouse).values()) == {(True, True, True, True)}
    assert set(quarantined(warehouse).values()) == {False}


def test_old_content_goes_and_the_rest_stays(warehouse: psycopg.Connection, old_and_new: tuple[date, date],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    old, new = old_and_new
    monkeypatch.setenv("PIPELINES_RETENTION_DAYS", str(RETENTION_DAYS))
    assert run_job("warehouse_retention").success
    assert content(warehouse) == {old: (False, False, True, True),  # the link goes, the rest stays
                                  new: (True, True, True, True)}
    assert quarantined(warehouse) == {old: True, new: False}
    assert warehouse.execute("SELECT count(*) FROM core.message_events").fetchone() == (2,)  # events stay

    after = events_snapshot(warehouse)
    assert run_job("warehouse_retention").success  # idempotent: nothing more to remove
    assert events_snapshot(warehouse) == after


def test_months_older_than_those_kept_are_dropped_whole(warehouse: psycopg.Connection, stack: LocalStack,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """With 12 months kept, the month a year before this one goes whole (its first and last
    day), and the eleventh month back stays whole: this month counts as the first kept."""
    this_month = clock.today().replace(day=1)
    year_ago = this_month.replace(year=this_month.year - 1)
    kept_first = (year_ago + timedelta(days=32)).replace(day=1)
    gone_last = kept_first - timedelta(days=1)
    for day in (year_ago, gone_last, kept_first, clock.today()):
        load_day(stack, day)
    monkeypatch.setenv("PIPELINES_KEEP_MONTHS", "12")
    assert run_job("warehouse_retention").success
    assert [row[0] for row in warehouse.execute(
        "SELECT partition_date FROM core.message_events ORDER BY 1")] == [kept_first, clock.today()]
    assert [row[0] for row in warehouse.execute(
        "SELECT partition_date FROM raw.webex_transactions ORDER BY 1")] == [kept_first, clock.today()]
    # The quarantine is not partitioned: its rows follow PIPELINES_RETENTION_DAYS, not the months.
    assert warehouse.execute("SELECT count(*) FROM ops.quarantine").fetchone() == (4,)
    after = events_snapshot(warehouse)
    assert run_job("warehouse_retention").success
    assert events_snapshot(warehouse) == after
