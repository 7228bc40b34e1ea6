"""mGage through Dagster: the sandbox over HTTP into the embedded warehouse, exact counts."""

import os
from collections.abc import Iterator
from datetime import date, timedelta

import psycopg
import pytest
from dagster import AssetKey

from pipelines.orchestration.partitions import partition_range_tags
from sandbox.server import SandboxState
from sandbox.vendors.mgage import MgageApi
from tests.conftest import TEST_SANDBOX
from tests.support import days_ago, events_snapshot, materialization_metadata, run_job
from tests.support import own_sandbox as serve_own_sandbox

RAW_KEY, EVENTS_KEY = AssetKey(["mgage", "raw_messages"]), AssetKey(["mgage", "message_events"])


def day_under_test() -> date:
    """The day these tests load: 2 days ago on the pinned clock."""
    return days_ago(2)



def expected_messages(day: date) -> int:
    api = MgageApi(TEST_SANDBOX, SandboxState())
    return sum(api.expected_messages(program, kind, day)
               for program in TEST_SANDBOX.mgage.program_ids for kind in ("MT", "MO"))


def materialize(partition_key: str | None = None, tags: dict[str, str] | None = None):
    return run_job("mgage_daily", partition_key, tags)


def metadata(result, key) -> dict:
    return materialization_metadata(result, "mgage_load", key)


def snapshot(conn: psycopg.Connection) -> list[tuple]:
    return events_snapshot(conn, "mgage")


@pytest.mark.day_sensitive
def test_a_partition_loads_exactly_what_the_sandbox_holds(warehouse: psycopg.Connection) -> None:
    result = materialize(day_under_test().isoformat())
    assert result.success
    expected = expected_messages(day_under_test())
    count = "SELECT count(*) FROM {} WHERE partition_date = %s"
    assert warehouse.execute(count.format("core.message_events"), (day_under_test(),)).fetchone() == (expected,)
    assert warehouse.execute(count.format("raw.mgage_messages"), (day_under_test(),)).fetchone() == (expected,)
    meta = metadata(result, EVENTS_KEY)
    # Windows end at the next midnight inclusive: the next day's first message of each
    # program and type comes back and is left to its own partition. The day's time slices
    # touch: a message stamped on a bound comes back twice and loads once.
    assert meta["records_fetched"] == expected + meta["out_of_window"] + meta["duplicates"]
    assert meta["inserted"] == expected and meta["quarantined"] == 0
    assert meta["api_calls"] >= 4
    # The preview samples what the run loaded (its partition's rows): ten of them.
    preview_rows = [line for line in meta["preview"].splitlines()[2:] if line.startswith("|")]
    assert len(preview_rows) == min(10, expected)


def test_normalized_rows_follow_the_contract(warehouse: psycopg.Connection) -> None:
    assert materialize(day_under_test().isoformat()).success
    bad_recipients = warehouse.execute(
        "SELECT count(*) FROM core.message_events WHERE recipient !~ '^\\+1[0-9]{10}$'").fetchone()
    assert bad_recipients == (0,)
    outside_day = warehouse.execute(
        "SELECT count(*) FROM core.message_events WHERE (occurred_at AT TIME ZONE 'UTC')::date <> partition_date"
    ).fetchone()
    assert outside_day == (0,)
    pairs = set(warehouse.execute("SELECT DISTINCT direction, event_type FROM core.message_events").fetchall())
    assert ("inbound", "received") in pairs and ("outbound", "delivered") in pairs
    assert all(event_type != "unknown" for _, event_type in pairs)
    raw_context = warehouse.execute("SELECT context FROM raw.mgage_messages LIMIT 1").fetchone()[0]
    assert set(raw_context) >= {"program_id", "message_type"}


def test_loading_a_partition_twice_leaves_the_same_rows(warehouse: psycopg.Connection) -> None:
    assert materialize(day_under_test().isoformat()).success
    first = snapshot(warehouse)
    again = materialize(day_under_test().isoformat())
    assert again.success
    assert snapshot(warehouse) == first  # loaded_at included: nothing was rewritten
    meta = metadata(again, EVENTS_KEY)
    assert (meta["inserted"], meta["updated"]) == (0, 0)
    assert meta["unchanged"] == expected_messages(day_under_test())


@pytest.mark.day_sensitive
def test_a_partition_range_runs_as_one_run(warehouse: psycopg.Connection) -> None:
    first, last = day_under_test() - timedelta(days=1), day_under_test()
    result = materialize(tags=partition_range_tags(first.isoformat(), last.isoformat()))
    assert result.success
    loaded = dict(warehouse.execute(
        "SELECT partition_date, count(*) FROM core.message_events GROUP BY 1").fetchall())
    assert loaded == {first: expected_messages(first), last: expected_messages(last)}
    assert metadata(result, RAW_KEY)["scopes"] == 2


@pytest.fixture
def own_sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator:
    with serve_own_sandbox(monkeypatch, "MGAGE_BASE_URL") as app:
        yield app


def test_sent_then_delivered_updates_the_existing_row(warehouse: psycopg.Connection, own_sandbox) -> None:
    assert materialize(day_under_test().isoformat()).success
    before = {row[0]: row for row in snapshot(warehouse)}
    own_sandbox.state.advance()
    result = materialize(day_under_test().isoformat())
    assert result.success
    after = {row[0]: row for row in snapshot(warehouse)}

    assert after.keys() == before.keys()  # updated in place, nothing added
    changed = {event_id for event_id in after if after[event_id][5] != before[event_id][5]}
    assert changed and metadata(result, EVENTS_KEY)["updated"] == len(changed)
    assert any(before[e][5] == "Sent" and after[e][5] == "Delivered" and after[e][4] == "delivered"
               for e in changed)
    for event_id, row in after.items():  # loaded_at moves only where the vendor changed something
        assert (row[-1] != before[event_id][-1]) == (event_id in changed)  # loaded_at


def test_wrong_credentials_fail_the_run_with_a_clear_error(warehouse: psycopg.Connection,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MGAGE_PASSWORD", "wrong-password")
    result = materialize(day_under_test().isoformat())
    assert not result.success
    [failure] = [event for event in result.all_events if event.event_type_value == "STEP_FAILURE"]
    message = failure.step_failure_data.error.to_string()
    assert "authentication failed" in message and "HTTP 401" in message
    assert "wrong-password" not in message
    assert warehouse.execute("SELECT count(*) FROM core.message_events").fetchone() == (0,)
    assert os.environ["MGAGE_PASSWORD"] == "wrong-password"
