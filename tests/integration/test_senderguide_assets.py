"""SenderGuide through Dagster: the sandbox over HTTP into the embedded warehouse, exact counts
per account-local day, including a day when the clocks change."""

from datetime import UTC, date, datetime

import psycopg
import pytest
from dagster import AssetKey

from sandbox.server import SandboxState
from sandbox.vendors.senderguide import SenderGuideApi
from tests.conftest import TEST_SANDBOX
from tests.support import days_ago, materialization_metadata, run_job

EVENTS_KEY = AssetKey(["senderguide", "message_events"])
TYPES = ("sends", "opens", "clicks", "bounces", "unsubscribes")
FALL_BACK = date(2026, 11, 1)  # New York repeats 01:00-02:00


def day_under_test() -> date:
    """The day these tests load: 3 days ago on the pinned clock."""
    return days_ago(3)


def expected_rows(day: date) -> int:
    api = SenderGuideApi(TEST_SANDBOX, SandboxState())
    return sum(api.expected_rows(message_id, kind, day)
               for message_id in TEST_SANDBOX.senderguide.message_ids for kind in TYPES)


def materialize(day: date):
    return run_job("senderguide_daily", day.isoformat())


def metadata(result) -> dict:
    return materialization_metadata(result, "senderguide_load", EVENTS_KEY)


@pytest.mark.day_sensitive
def test_a_day_loads_exactly_what_the_sandbox_holds(warehouse: psycopg.Connection) -> None:
    result = materialize(day_under_test())
    assert result.success
    expected = expected_rows(day_under_test())
    counts = warehouse.execute("""
        SELECT (SELECT count(*) FROM core.message_events WHERE source = 'senderguide'),
               (SELECT count(*) FROM raw.senderguide_interactions)""").fetchone()
    assert counts == (expected, expected)
    assert metadata(result)["records_fetched"] == expected
    types = dict(warehouse.execute(
        "SELECT status_raw, event_type FROM core.message_events GROUP BY 1, 2").fetchall())
    assert types == {"sends": "sent", "opens": "opened", "clicks": "clicked",
                     "bounces": "bounced", "unsubscribes": "unsubscribed"}
    assert warehouse.execute(
        "SELECT count(*) FROM core.message_events WHERE recipient <> lower(recipient)").fetchone() == (0,)


def test_a_dst_day_is_the_accounts_local_day_in_utc(warehouse: psycopg.Connection) -> None:
    assert materialize(FALL_BACK).success
    first, last, count = warehouse.execute(
        "SELECT min(occurred_at), max(occurred_at), count(*) FROM core.message_events").fetchone()
    assert count == expected_rows(FALL_BACK)
    # 2026-11-01 in New York runs from 04:00 UTC to 05:00 UTC the next day (25 hours).
    assert first >= datetime(2026, 11, 1, 4, tzinfo=UTC)
    assert last < datetime(2026, 11, 2, 5, tzinfo=UTC)


@pytest.mark.day_sensitive
def test_loading_a_day_twice_changes_nothing(warehouse: psycopg.Connection) -> None:
    assert materialize(day_under_test()).success
    snapshot = "SELECT * FROM core.message_events ORDER BY event_id"
    before = warehouse.execute(snapshot).fetchall()
    again = materialize(day_under_test())
    assert again.success and warehouse.execute(snapshot).fetchall() == before
    assert (metadata(again)["inserted"], metadata(again)["updated"]) == (0, 0)
