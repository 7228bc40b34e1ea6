"""CINNOX through Dagster: the sandbox over HTTP into the embedded warehouse, exact counts."""

import os
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

import psycopg
import pytest
from dagster import AssetKey

from pipelines.model import clock
from pipelines.orchestration.partitions import DAILY_PARTITIONS, partition_range_tags
from sandbox.server import SandboxState
from sandbox.vendors.cinnox import CinnoxApi
from tests.conftest import TEST_SANDBOX
from tests.support import days_ago, events_snapshot, materialization_metadata, run_job
from tests.support import own_sandbox as serve_own_sandbox

RAW_KEY = AssetKey(["cinnox", "raw_campaign_recipients"])
EVENTS_KEY = AssetKey(["cinnox", "message_events"])


def day_under_test() -> date:
    """The day these tests load: 2 days ago on the pinned clock."""
    return days_ago(2)

# Where a status may go when the sandbox generation advances, and what it then means.
FORWARD = {("Pending", "Submitted"), ("Pending", "Delivered"), ("Pending", "Failed"),
           ("Submitted", "Delivered"), ("Submitted", "Undelivered"), ("Delivered", "Read")}


def sandbox_api() -> CinnoxApi:
    return CinnoxApi(TEST_SANDBOX, SandboxState())


def campaigns_sent_on(day: date) -> list[dict]:
    """The summary rows of the campaigns sent on the UTC day, as the sandbox generates them."""
    start = datetime.combine(day, time(), UTC)
    return [row for row in sandbox_api().campaigns_between(start, start + timedelta(days=1))
            if datetime.fromisoformat(row["date"]).date() == day]


def expected_recipients(day: date) -> int:
    api = sandbox_api()
    return sum(api.recipients(row["id"]) for row in campaigns_sent_on(day))


def materialize(partition_key: str | None = None, tags: dict[str, str] | None = None):
    return run_job("cinnox_daily", partition_key, tags)


def metadata(result, key) -> dict:
    return materialization_metadata(result, "cinnox_load", key)


def snapshot(conn: psycopg.Connection) -> list[tuple]:
    return events_snapshot(conn, "cinnox")


@pytest.mark.day_sensitive
def test_a_partition_loads_exactly_what_the_sandbox_holds(warehouse: psycopg.Connection) -> None:
    result = materialize(day_under_test().isoformat())
    assert result.success
    expected = expected_recipients(day_under_test())
    assert expected > 0
    count = "SELECT count(*) FROM {} WHERE partition_date = %s"
    assert warehouse.execute(count.format("core.message_events"), (day_under_test(),)).fetchone() == (expected,)
    raw_rows = warehouse.execute(count.format("raw.cinnox_campaign_recipients"), (day_under_test(),))
    assert raw_rows.fetchone() == (expected,)
    per_campaign = dict(warehouse.execute(
        "SELECT message_id, count(*) FROM core.message_events GROUP BY 1").fetchall())
    api = sandbox_api()
    assert per_campaign == {row["id"]: api.recipients(row["id"]) for row in campaigns_sent_on(day_under_test())}
    meta = metadata(result, EVENTS_KEY)
    assert meta["records_fetched"] == meta["inserted"] == expected
    assert (meta["quarantined"], meta["duplicates"], meta["out_of_window"]) == (0, 0, 0)
    assert meta["api_calls"] >= 1 + len(per_campaign)


def test_normalized_rows_follow_the_contract(warehouse: psycopg.Connection) -> None:
    first, last = day_under_test() - timedelta(days=2), day_under_test()
    assert materialize(tags=partition_range_tags(first.isoformat(), last.isoformat())).success
    bad = warehouse.execute("""
        SELECT count(*) FROM core.message_events
        WHERE recipient !~ '^\\+[1-9][0-9]{6,14}$' OR direction <> 'outbound'
           OR channel NOT IN ('sms', 'whatsapp') OR message_id IS NULL OR campaign_id IS NULL
           OR campaign_name IS NULL OR (occurred_at AT TIME ZONE 'UTC')::date <> partition_date
    """).fetchone()
    assert bad == (0,)
    channels = dict(warehouse.execute(
        "SELECT channel, count(*) FROM core.message_events GROUP BY 1").fetchall())
    summary = [row for day in (first, first + timedelta(days=1), last) for row in campaigns_sent_on(day)]
    assert set(channels) == {row["channel"].lower() for row in summary}
    assert warehouse.execute(
        "SELECT count(*) FROM core.message_events WHERE event_type = 'unknown'").fetchone() == (0,)
    # The detail's id is the created campaign's id, not the sending's historyID.
    assert warehouse.execute(
        "SELECT count(*) FROM core.message_events WHERE campaign_id = message_id").fetchone() == (0,)
    failed = warehouse.execute("""
        SELECT error_code, error_reason FROM core.message_events
        WHERE channel = 'whatsapp' AND status_raw = 'Failed'""").fetchall()
    assert all(code.isdigit() and reason for code, reason in failed)
    context = warehouse.execute(
        "SELECT context FROM raw.cinnox_campaign_recipients LIMIT 1").fetchone()[0]
    assert set(context) >= {"history_id", "campaign_name", "channel", "campaign_date"}
    assert warehouse.execute("""
        SELECT count(*) FROM core.message_events WHERE attributes->>'last_updated_at' IS NULL
    """).fetchone() == (0,)


def test_loading_a_partition_twice_leaves_the_same_rows(warehouse: psycopg.Connection) -> None:
    assert materialize(day_under_test().isoformat()).success
    first = snapshot(warehouse)
    again = materialize(day_under_test().isoformat())
    assert again.success
    assert snapshot(warehouse) == first  # loaded_at included: nothing was rewritten
    meta = metadata(again, EVENTS_KEY)
    assert (meta["inserted"], meta["updated"]) == (0, 0)
    assert meta["unchanged"] == expected_recipients(day_under_test())


def last_midnight_campaign() -> tuple[date, dict] | None:
    """The most recent campaign the sandbox sends at exactly 00:00:00.000Z (on a day whose
    previous day is a partition too)."""
    api, day = sandbox_api(), clock.today()
    first_day = DAILY_PARTITIONS.start.date() + timedelta(days=1)
    while day >= first_day:
        midnight = datetime.combine(day, time(), UTC)
        if rows := api.campaigns_between(midnight, midnight):
            return day, rows[0]
        day -= timedelta(days=1)
    return None


@pytest.mark.day_sensitive
def test_a_campaign_sent_at_midnight_belongs_to_that_day_only(warehouse: psycopg.Connection) -> None:
    """The summary's endAt is inclusive: the day before asks up to this midnight and gets this
    campaign too, but leaves it to its own day. Loading the day before last would otherwise
    move the campaign's rows to it."""
    found = last_midnight_campaign()
    if found is None:
        pytest.skip("the sandbox sends no campaign at exactly midnight in the partition range")
    day, campaign = found
    before = day - timedelta(days=1)
    assert materialize(day.isoformat()).success
    result = materialize(before.isoformat())
    assert result.success
    assert metadata(result, RAW_KEY)["records_fetched"] == expected_recipients(before)
    loaded = dict(warehouse.execute(
        "SELECT partition_date, count(*) FROM core.message_events GROUP BY 1").fetchall())
    assert loaded == {before: expected_recipients(before), day: expected_recipients(day)}
    placed = warehouse.execute(
        "SELECT DISTINCT partition_date FROM core.message_events WHERE message_id = %s",
        (campaign["id"],)).fetchall()
    assert placed == [(day,)]


def updated_at(row: tuple) -> datetime:
    return datetime.fromisoformat(row[13]["last_updated_at"])


@pytest.fixture
def own_sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator:
    with serve_own_sandbox(monkeypatch, "CINNOX_BASE_URL") as app:
        yield app


def test_a_status_change_updates_the_existing_row(warehouse: psycopg.Connection, own_sandbox) -> None:
    first, last = day_under_test() - timedelta(days=2), day_under_test()
    tags = partition_range_tags(first.isoformat(), last.isoformat())
    assert materialize(tags=tags).success
    before = {row[0]: row for row in snapshot(warehouse)}
    own_sandbox.state.advance()
    result = materialize(tags=tags)
    assert result.success
    after = {row[0]: row for row in snapshot(warehouse)}

    assert after.keys() == before.keys()  # updated in place, nothing added
    changed = {event_id for event_id in after if after[event_id][5] != before[event_id][5]}
    assert changed and metadata(result, EVENTS_KEY)["updated"] == len(changed)
    moves = {(before[e][5], after[e][5]) for e in changed}
    assert moves <= FORWARD
    assert {("Pending", "Submitted"), ("Delivered", "Read")} & moves
    for event_id in changed:
        old, new = before[event_id], after[event_id]
        assert old[4] != new[4]  # the canonical event type follows the status
        assert updated_at(new) > updated_at(old)
        assert new[-1] > old[-1]
    for event_id, row in after.items():  # loaded_at moves only where the vendor changed something
        assert (row[-1] != before[event_id][-1]) == (event_id in changed)
    read = [after[e] for e in changed if after[e][5] == "Read"]
    assert all(row[4] == "opened" for row in read)


def test_wrong_credentials_fail_the_run_with_a_clear_error(warehouse: psycopg.Connection,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CINNOX_APP_TOKEN", "wrong-app-token")
    result = materialize(day_under_test().isoformat())
    assert not result.success
    [failure] = [event for event in result.all_events if event.event_type_value == "STEP_FAILURE"]
    message = failure.step_failure_data.error.to_string()
    assert "authentication failed" in message and "HTTP 401" in message
    assert "wrong-app-token" not in message
    assert warehouse.execute("SELECT count(*) FROM core.message_events").fetchone() == (0,)
    assert os.environ["CINNOX_APP_TOKEN"] == "wrong-app-token"
