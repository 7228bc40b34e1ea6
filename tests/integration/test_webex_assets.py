"""Webex through Dagster: the sandbox over HTTP into the embedded warehouse, exact counts per
key, truncated busy days, watermarks, and statuses moving forward."""

import dataclasses
import os
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

import psycopg
import pytest
import time_machine
from dagster import AssetKey

from pipelines.model import clock
from pipelines.model.pseudonyms import pseudonym
from pipelines.sources.webex.assets import load_increments
from pipelines.sources.webex.client import KeyIncrement, KeyWindow, WebexSession
from pipelines.sources.webex.mapping import map_transaction
from pipelines.transport.http import VendorError
from pipelines.warehouse.key_state import PulledKey
from pipelines.warehouse.loading import Stamp
from sandbox.server import SandboxState, serve_in_thread
from sandbox.vendors.webex import MAX_COUNT, WebexApi
from tests.conftest import TEST_SANDBOX
from tests.support import events_snapshot, materialization_metadata, run_webex
from tests.support import own_sandbox as serve_own_sandbox

RAW_KEY = AssetKey(["webex", "raw_transactions"])
EVENTS_KEY = AssetKey(["webex", "message_events"])
WEBEX = TEST_SANDBOX.webex
ZONE = ZoneInfo(WEBEX.timezone)
INITIAL_DAYS = 7  # the client's default window for a key never loaded
LOOKBACK_DAYS = 2  # the client's default: days before the watermark asked again
STAMP = Stamp(pii_key="test-pii-key")


def identity(key: str) -> str:
    """A configured key as the warehouse follows it (ops.webex_key_identity)."""
    return key.lower() if "@" in key else key.removeprefix("+")


# The sandbox's configured keys as followed: one of them is spelled with capitals.
KEYS = [identity(key) for key in WEBEX.keys]
BUSY_KEYS = [identity(key) for key in WEBEX.busy_keys]


def sandbox_api(generation: int = 0) -> WebexApi:
    state = SandboxState()
    for _ in range(generation):
        state.advance()
    return WebexApi(TEST_SANDBOX, state)


def held(key: str, first: date, last: date, generation: int = 0) -> tuple[dict[str, dict], set[date]]:
    """What one key's window should load: its transactions by id (a busy day: its latest 50,
    all one answer carries), and the days a single answer cannot carry whole."""
    api = sandbox_api(generation)
    rows: dict[str, dict] = {}
    truncated: set[date] = set()
    day = first
    while day <= last:
        transactions = api.transactions(key, day)
        if len(transactions) >= MAX_COUNT:
            truncated.add(day)
            transactions = transactions[-MAX_COUNT:]
        rows |= {row["transaction-id"]: row for row in transactions}
        day += timedelta(days=1)
    return rows, truncated


def sandbox_today() -> date:
    """Today on the tenant's calendar."""
    return clock.today(ZONE)


def materialize():
    return run_webex()


def metadata(result, key) -> dict:
    return materialization_metadata(result, "webex_load", key)


def watermarks(conn: psycopg.Connection) -> dict[str, date]:
    return dict(conn.execute("SELECT key, loaded_through FROM ops.webex_keys "
                             "WHERE loaded_through IS NOT NULL").fetchall())


def truncations(conn: psycopg.Connection) -> set[tuple]:
    return set(conn.execute(
        "SELECT key, local_date, returned, run_id, detected_at FROM ops.webex_truncations").fetchall())


def loaded(conn: psycopg.Connection, key: str) -> dict[str, dict]:
    """The key's transactions as landed in raw, by transaction id."""
    return dict(conn.execute(
        "SELECT payload->>'transaction-id', payload FROM raw.webex_transactions "
        "WHERE context->>'key' = %s", (key,)).fetchall())


def snapshot(conn: psycopg.Connection) -> list[tuple]:
    return events_snapshot(conn, "webex")


def loaded_through(conn: psycopg.Connection) -> date:
    """The run's tenant-local today, as every key's watermark records it."""
    days = set(watermarks(conn).values())
    assert len(days) == 1, days
    return days.pop()


@pytest.mark.day_sensitive
def test_every_key_loads_exactly_what_the_sandbox_holds(warehouse: psycopg.Connection) -> None:
    result = materialize()
    assert result.success
    assert watermarks(warehouse).keys() == set(KEYS)
    today = loaded_through(warehouse)
    first = today - timedelta(days=INITIAL_DAYS - 1)

    total, expected_truncations = 0, set()
    for key in KEYS:
        rows, truncated = held(key, first, today)
        assert loaded(warehouse, key) == rows, key  # every transaction, whole, and nothing else
        events = warehouse.execute(
            "SELECT count(*), count(DISTINCT e.message_id) FROM core.message_events AS e "
            "JOIN raw.webex_transactions AS r ON r.record_id = e.event_id "
            "WHERE r.context->>'key' = %s", (key,)).fetchone()
        assert events == (len(rows), len(rows)), key
        expected_truncations |= {(key, day, MAX_COUNT) for day in truncated}
        total += len(rows)
        # Busy keys fill every day; the others never fill an answer.
        assert truncated == ({first + timedelta(days=n) for n in range(INITIAL_DAYS)}
                             if key in BUSY_KEYS else set()), key

    recorded = {(key, day, returned) for key, day, returned, run_id, _ in truncations(warehouse)}
    assert recorded == expected_truncations and expected_truncations
    assert warehouse.execute("SELECT count(*) FROM core.message_events WHERE source = 'webex'"
                             ).fetchone() == (total,)
    meta = metadata(result, EVENTS_KEY)
    assert meta["keys_due"] == meta["keys_loaded"] == len(KEYS)
    assert (meta["keys_left_for_later"], meta["oldest_due_key_waited_h"]) == (0, 0)
    assert meta["keys_failed"] == 0
    assert meta["inserted"] == meta["records_fetched"] == total
    assert (meta["quarantined"], meta["unknown_status"], meta["duplicates"]) == (0, 0, 0)
    assert meta["truncated_days"] == len(expected_truncations)
    # The truncated keys are named by their pseudonyms: a key is personal data.
    hidden = [pseudonym(key, os.environ["PIPELINES_PII_KEY"]) for key in BUSY_KEYS]
    assert all(name in meta["truncations"] for name in hidden)
    assert not any(key in meta["truncations"] for key in BUSY_KEYS)
    # One answer per quiet key; a busy key's 7 days are halved down to single days: 2*7 - 1.
    busy = len(BUSY_KEYS)
    assert (meta["api_calls"], meta["retries"]) == (len(KEYS) - busy + busy * (2 * INITIAL_DAYS - 1), 0)
    assert metadata(result, RAW_KEY)["truncated_days"] == len(expected_truncations)


def test_normalized_rows_follow_the_contract(warehouse: psycopg.Connection) -> None:
    assert materialize().success
    rows = warehouse.execute("""
        SELECT r.context->>'key', e.channel, e.recipient, e.direction, e.event_type,
               e.occurred_at, r.payload, e.attributes
        FROM core.message_events AS e JOIN raw.webex_transactions AS r ON r.record_id = e.event_id
    """).fetchall()
    assert rows
    for key, channel, recipient, _direction, event_type, occurred_at, payload, attributes in rows:
        if "@" in key:
            assert (channel, recipient) == ("email", key.lower())
        elif key.isdigit():
            assert channel in {"sms", "mms", "ussd", "obd"} and recipient == f"+{key}"
        else:
            assert (channel, recipient) == ("app_push", key)
        assert event_type != "unknown"
        local = occurred_at.astimezone(ZONE).replace(tzinfo=None)
        assert local.strftime("%Y-%m-%d %H:%M:%S") == payload["deployment-date"]
        assert attributes["msg_preview_url"] == payload.get("msg_preview_url")
        assert attributes["channel_code"] == payload["channel"]
    pairs = {(row[3], row[4]) for row in rows}
    assert ("inbound", "received") in pairs and ("outbound", "sent") in pairs
    assert ("outbound", "received") not in pairs  # what the customer sent is inbound
    assert {row[1] for row in rows} >= {"sms", "email", "app_push"}
    raw_context = warehouse.execute("SELECT context FROM raw.webex_transactions LIMIT 1").fetchone()[0]
    assert set(raw_context) == {"key"}


def test_engagement_links_to_its_pushed_message_and_the_mart_shows_it(warehouse: psycopg.Connection) -> None:
    assert materialize().success
    links = warehouse.execute("""
        SELECT e.linked_message_id, e.event_type, r.payload->>'link-transaction-id', pushed.event_id
        FROM core.message_events AS e JOIN raw.webex_transactions AS r ON r.record_id = e.event_id
        LEFT JOIN core.message_events AS pushed
               ON pushed.source = 'webex' AND pushed.message_id = e.linked_message_id
        WHERE e.source = 'webex' AND coalesce(r.payload->>'link-transaction-id', '') <> ''""").fetchall()
    assert links
    assert all(linked == given for linked, _, given, _ in links)
    assert any(pushed is not None for *_, pushed in links)  # the message it answers is loaded too
    # The mart keys an engagement by the message it belongs to: such a message's latest state
    # is what the customer did with it, not only what the carrier said.
    engaged = warehouse.execute("""
        SELECT count(*) FROM marts.recipient_message_status AS m
        JOIN core.message_events AS e ON e.source = 'webex' AND e.message_id = m.message_key
        WHERE m.source = 'webex' AND m.latest_event_type IN ('opened', 'clicked', 'replied')
          AND e.linked_message_id IS NULL""").fetchone()[0]
    assert engaged > 0


@pytest.mark.day_sensitive
def test_a_second_run_changes_nothing_and_keeps_the_watermarks(warehouse: psycopg.Connection) -> None:
    assert materialize().success
    first_rows, first_marks, first_cuts = snapshot(warehouse), watermarks(warehouse), truncations(warehouse)
    again = materialize()
    assert again.success
    assert snapshot(warehouse) == first_rows  # loaded_at included: nothing was rewritten
    assert truncations(warehouse) == first_cuts  # detected_at and run_id included
    marks = watermarks(warehouse)
    assert marks.keys() == first_marks.keys()
    assert all(marks[key] >= first_marks[key] for key in marks)
    today = loaded_through(warehouse)
    # Only the watermark's day and the lookback before it are asked again, and hold what they held.
    refetched = sum(len(held(key, today - timedelta(days=LOOKBACK_DAYS), today)[0]) for key in KEYS)
    meta = metadata(again, EVENTS_KEY)
    assert (meta["inserted"], meta["updated"]) == (0, 0)
    assert meta["records_fetched"] == meta["unchanged"] == refetched


@pytest.mark.day_sensitive
def test_a_key_restarts_at_its_own_watermark(warehouse: psycopg.Connection) -> None:
    key, ahead, fresh = KEYS[0], KEYS[1], KEYS[2]
    today = sandbox_today()
    mark, future = today - timedelta(days=2), today + timedelta(days=3)
    warehouse.execute("INSERT INTO ops.webex_keys (key, configured, followed_since, due_at, loaded_through) "
                      "VALUES (%(key)s, true, %(now)s, %(now)s, %(mark)s), "
                      "(%(ahead)s, true, %(now)s, %(now)s, %(future)s)",
                      {"key": key, "ahead": ahead, "mark": mark, "future": future, "now": clock.now()})
    assert materialize().success
    marks = watermarks(warehouse)
    # From its watermark, inclusive, less the lookback for late transactions.
    assert loaded(warehouse, key) == held(key, mark - timedelta(days=LOOKBACK_DAYS), today)[0]
    assert loaded(warehouse, fresh) == held(fresh, today - timedelta(days=INITIAL_DAYS - 1), today)[0]
    # A watermark ahead of today (a zone or clock change) asks for today and never moves back.
    assert marks[ahead] == future
    assert loaded(warehouse, ahead) == held(ahead, today, today)[0]


@pytest.fixture
def own_sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator:
    with serve_own_sandbox(monkeypatch, "WEBEX_BASE_URL") as app:
        yield app


def test_a_status_change_updates_rows_in_place(warehouse: psycopg.Connection, own_sandbox) -> None:
    assert materialize().success
    before = {row[0]: row for row in snapshot(warehouse)}
    own_sandbox.state.advance()
    result = materialize()
    assert result.success
    after = {row[0]: row for row in snapshot(warehouse)}

    assert after.keys() == before.keys()  # updated in place, nothing added
    changed = {event_id for event_id in after if after[event_id][5] != before[event_id][5]}
    assert changed and metadata(result, EVENTS_KEY)["updated"] == len(changed)
    assert any(before[e][5] == "Attempted Send successfully Pushed to Gateways"
               and after[e][5] == "Successfully delivered to the Customer"
               and after[e][4] == "delivered" for e in changed)
    for event_id, row in after.items():  # loaded_at moves only where the vendor changed something
        assert (row[-1] != before[event_id][-1]) == (event_id in changed)
    # The second run asked each key from its watermark (today) only: today's rows carry the
    # advanced statuses, earlier days keep what was loaded.
    today = loaded_through(warehouse)
    for key in KEYS:
        now_held, _ = held(key, today, today, generation=1)
        for transaction_id, payload in loaded(warehouse, key).items():
            if payload["deployment-date"][:10] == today.isoformat():
                assert payload == now_held[transaction_id]


def test_a_failing_key_is_reported_and_the_others_load(warehouse: psycopg.Connection,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    failing = KEYS[1]
    fetch = WebexSession.transactions

    def transactions(self, key, first, last):
        if key == failing:
            raise VendorError("webex", "GET /x", 200, "code 1010: The request was not processed.")
        return fetch(self, key, first, last)

    monkeypatch.setattr(WebexSession, "transactions", transactions)
    result = materialize()
    assert not result.success
    [failure] = [event for event in result.all_events if event.event_type_value == "STEP_FAILURE"]
    reported = failure.step_failure_data.user_failure_data
    assert reported.description.startswith(f"1 of {len(KEYS)} due Webex keys failed")
    failed_keys = reported.metadata["failed_keys"].value  # by pseudonym: a key is personal data
    assert pseudonym(failing, os.environ["PIPELINES_PII_KEY"]) in failed_keys and failing not in failed_keys
    assert "code 1010" in failed_keys
    assert watermarks(warehouse).keys() == set(KEYS) - {failing}
    assert loaded(warehouse, failing) == {}
    assert all(loaded(warehouse, key) for key in BUSY_KEYS)
    assert metadata(result, EVENTS_KEY)["keys_failed"] == 1


def test_wrong_credentials_fail_the_run_with_a_clear_error(warehouse: psycopg.Connection,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBEX_API_KEY", "wrong-webex-key")
    result = materialize()
    assert not result.success
    [failure] = [event for event in result.all_events if event.event_type_value == "STEP_FAILURE"]
    message = failure.step_failure_data.error.to_string()
    assert "authentication failed" in message and "HTTP 401" in message
    assert "wrong-webex-key" not in message
    assert warehouse.execute("SELECT count(*) FROM core.message_events").fetchone() == (0,)
    assert watermarks(warehouse) == {}
    assert os.environ["WEBEX_API_KEY"] == "wrong-webex-key"


def test_a_quarantined_transaction_leaves_quarantine_once_it_arrives_usable(warehouse: psycopg.Connection) -> None:
    today = clock.today()
    good = {"transaction-id": "T-42", "deployment-date": f"{today} 10:00:00", "channel": "0",
            "key": "919812345670", "transaction-status": "Successfully delivered to the Customer",
            "campaign-id": "1", "campaign-name": "c"}
    broken = good | {"deployment-date": "not a date"}
    mapper = partial(map_transaction, zone=UTC, default_region="US")
    window = KeyWindow("919812345670", today, today)
    state = PulledKey(window.key, today, today, [], today, clock.now())
    load_increments(warehouse, [(KeyIncrement(window, [broken], [], 1), state)], mapper, STAMP,
                    clock.now(), "run-1")
    assert warehouse.execute("SELECT count(*) FROM ops.quarantine WHERE source = 'webex'").fetchone() == (1,)
    load_increments(warehouse, [(KeyIncrement(window, [good], [], 1), state)], mapper, STAMP,
                    clock.now(), "run-2")
    assert warehouse.execute("SELECT count(*) FROM ops.quarantine WHERE source = 'webex'").fetchone() == (0,)
    assert warehouse.execute("SELECT status_raw FROM core.message_events WHERE source = 'webex'").fetchone() == (
        "Successfully delivered to the Customer",)


@pytest.mark.day_sensitive
def test_a_transaction_reported_up_to_two_days_late_is_loaded_by_a_later_run(
        warehouse: psycopg.Connection, monkeypatch: pytest.MonkeyPatch, instant: datetime) -> None:
    """Half the transactions appear in the API only up to 48 hours after their date: a run
    two days later, from the watermarks the first run left, loads every one of them."""
    late = dataclasses.replace(TEST_SANDBOX, webex=dataclasses.replace(WEBEX, late_share=0.5))
    api = WebexApi(late, SandboxState())

    def reported(key: str, first: date, last: date) -> set[str]:
        """What the API can give of the key's days now (a busy day: its latest 50)."""
        days = (first + timedelta(days=n) for n in range((last - first).days + 1))
        return {row["transaction-id"] for day in days
                for row in api.transactions(key, day)[-MAX_COUNT:]}

    with serve_in_thread(late) as (url, _):
        monkeypatch.setenv("WEBEX_BASE_URL", url)
        assert materialize().success
        today = loaded_through(warehouse)
        first = today - timedelta(days=INITIAL_DAYS - 1)
        seen_then = {key: reported(key, first, today) for key in KEYS}
        with time_machine.travel(instant + timedelta(days=2, hours=1), tick=True):
            assert materialize().success
            seen_now = {key: reported(key, first, today) for key in KEYS}
    appeared_late = sum(len(seen_now[key] - seen_then[key]) for key in KEYS)
    assert appeared_late > 0  # the data makes the point: some were not there at the first run
    for key in KEYS:
        assert seen_now[key] <= set(loaded(warehouse, key)), key
