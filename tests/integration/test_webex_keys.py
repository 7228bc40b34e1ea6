"""Webex at scale, through Dagster against the sandbox and the embedded warehouse: the keys to
follow come from the warehouse, each run pulls the longest due keys within its budget and
leaves the rest due, quiet keys back off, and shards split the keys once."""

import dataclasses
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest
import time_machine

from pipelines.model import clock
from pipelines.sources.webex.assets import RAW_SPEC
from pipelines.sources.webex.client import RunBudget, WebexClient
from pipelines.sources.webex.keys import FOLLOWED_KEYS
from pipelines.sources.webex.shards import SHARDS
from pipelines.warehouse.key_state import Shards, due_keys
from sandbox.server import SandboxState, serve_in_thread
from sandbox.vendors.webex import WebexApi
from tests.conftest import TEST_SANDBOX
from tests.support import materialization_metadata, run_job, run_webex

WEBEX = TEST_SANDBOX.webex
SHARD_KEYS = SHARDS.get_partition_keys()


def identity(key: str) -> str:
    """A key as the warehouse follows it (ops.webex_key_identity)."""
    return key.lower() if "@" in key else key.removeprefix("+")


KEYS = sorted(identity(key) for key in WEBEX.keys)


load = run_webex


def load_metadata(result) -> dict:
    return materialization_metadata(result, "webex_load", RAW_SPEC.key)


def followed(conn: psycopg.Connection) -> dict[str, tuple]:
    return {key: tuple(rest) for key, *rest in conn.execute(
        "SELECT key, configured, listed, seen_at FROM ops.webex_keys WHERE configured OR listed")}


def pulled_by(conn: psycopg.Connection) -> dict[str, str | None]:
    return dict(conn.execute("SELECT key, run_id FROM ops.webex_keys").fetchall())


def add_event(conn: psycopg.Connection, event_id: str, channel: str, recipient: str,
              occurred_at: datetime, *, sandbox: bool = True) -> None:
    # Written directly, not by a load: its month partition is made as a load would make it.
    conn.execute("SELECT core.ensure_month_partitions(ARRAY[%s::date])", (occurred_at.date(),))
    conn.execute("""
        INSERT INTO core.message_events (event_id, source, channel, direction, event_type,
                                         occurred_at, recipient, partition_date, sandbox)
        VALUES (%s, 'mgage', %s, 'outbound', 'sent', %s, %s, %s, %s)""",
                 (event_id, channel, occurred_at, recipient, occurred_at.date(), sandbox))


def test_the_audience_follows_recipients_seen_lately_one_row_per_customer(
        warehouse: psycopg.Connection) -> None:
    now = clock.now()
    add_event(warehouse, "e1", "sms", "+6591234567", now - timedelta(days=1))
    add_event(warehouse, "e2", "email", "Pat.Lee@Example.com", now - timedelta(days=3))
    add_event(warehouse, "e3", "email", "pat.lee@example.com", now - timedelta(hours=2))
    add_event(warehouse, "e4", "sms", "+6590000001", now - timedelta(days=45))  # too long ago
    add_event(warehouse, "e5", "sms", "+6590000002", now - timedelta(days=1), sandbox=False)
    result = run_job("webex_keys")
    assert result.success

    keys = followed(warehouse)
    # The two spellings of one email are one customer, seen at its latest message; a Webex
    # MSISDN carries its country code without '+'. A real recipient is never asked of the
    # sandbox, nor one seen 45 days ago (WEBEX_FOLLOW_DAYS is 30).
    assert keys["6591234567"] == (False, True, now - timedelta(days=1))
    assert keys["pat.lee@example.com"] == (False, True, now - timedelta(hours=2))
    assert "6590000001" not in keys and "6590000002" not in keys
    # WEBEX_KEYS are followed too, whatever their spelling.
    assert {key for key, (configured, *_) in keys.items() if configured} == set(KEYS)
    meta = materialization_metadata(result, "webex__followed_keys", FOLLOWED_KEYS)
    assert (meta["listed"], meta["configured"], meta["followed"]) == (2, len(KEYS), len(KEYS) + 2)

    # The next load pulls them all, the listed ones included.
    loaded = load()
    assert loaded.success and load_metadata(loaded)["keys_loaded"] == len(KEYS) + 2
    assert warehouse.execute("SELECT count(*) FROM raw.webex_transactions "
                             "WHERE context->>'key' = '6591234567'").fetchone() != (0,)

    # A customer no longer in the audience stops being followed; its watermark is kept.
    warehouse.execute("DELETE FROM core.message_events WHERE recipient = '+6591234567'")
    assert run_job("webex_keys").success
    assert "6591234567" not in followed(warehouse)
    assert warehouse.execute("SELECT loaded_through IS NOT NULL FROM ops.webex_keys "
                             "WHERE key = '6591234567'").fetchone() == (True,)


@pytest.fixture
def budget_of(monkeypatch: pytest.MonkeyPatch) -> Iterator:
    """Give every run a request budget of `n` (and all the time it needs)."""
    def set_budget(requests: int) -> None:
        monkeypatch.setattr(WebexClient, "run_budget", lambda self, in_run, count: RunBudget(
            requests=requests, seconds=3_600, requests_per_second=0))
    yield set_budget


@pytest.mark.day_sensitive
def test_a_run_pulls_what_its_budget_allows_and_the_rest_goes_first_next_time(
        warehouse: psycopg.Connection, budget_of, instant: datetime) -> None:
    budget_of(3)
    first = load()
    assert first.success
    meta = load_metadata(first)
    # New keys are due at once, in key order: the run starts three of them, one per request
    # of its budget (a key under way still finishes its window, splits included).
    assert (meta["keys_due"], meta["keys_loaded"], meta["keys_left_for_later"]) == (len(KEYS), 3, len(KEYS) - 3)
    after_first = pulled_by(warehouse)
    assert {key for key, run in after_first.items() if run is not None} == set(KEYS[:3])

    # The next run starts with the keys left over, not with those it just pulled.
    budget_of(len(KEYS) - 3)
    second = load()
    assert second.success
    after_second = pulled_by(warehouse)
    assert {key for key, run in after_second.items() if run == second.run_id} == set(KEYS[3:])

    # With no budget at all, nothing is pulled, and once the oldest due key has waited past
    # the bound (6 hours) the freshness check fails and says so.
    budget_of(0)
    with time_machine.travel(instant + timedelta(hours=7), tick=False):
        late = load()
    assert late.success  # the check warns the team; the run itself did what it could
    meta = load_metadata(late)
    assert meta["keys_loaded"] == 0 and meta["keys_left_for_later"] == meta["keys_due"] > 0
    assert meta["oldest_due_key_waited_h"] >= 7
    [check] = [evaluation for evaluation in late.get_asset_check_evaluations()
               if evaluation.check_name == "due_keys_pulled_in_time"]
    assert not check.passed


@pytest.mark.day_sensitive
def test_quiet_keys_back_off_and_keys_with_traffic_stay_due(
        warehouse: psycopg.Connection, monkeypatch: pytest.MonkeyPatch) -> None:
    quiet = dataclasses.replace(TEST_SANDBOX, webex=dataclasses.replace(WEBEX, quiet_share=0.5))
    api = WebexApi(quiet, SandboxState())
    today = clock.today(ZoneInfo(WEBEX.timezone))

    def days_since_traffic(key: str) -> int | None:
        """Days since the key's latest transaction in a first run's window (7 days)."""
        return next((age for age in range(7) if api.daily_count(key, today - timedelta(days=age))), None)

    # Traffic in the last 3 days: due every run; earlier in the window: daily; none: weekly.
    expected = {identity(key): timedelta(0) if (age := days_since_traffic(key)) is not None and age < 3
                else timedelta(days=1) if age is not None else timedelta(weeks=1)
                for key in WEBEX.keys}
    active = {key for key, wait in expected.items() if not wait}
    assert active and any(wait == timedelta(weeks=1) for wait in expected.values())  # some of each
    with serve_in_thread(quiet) as (url, _):
        monkeypatch.setenv("WEBEX_BASE_URL", url)
        assert load().success
        waits = dict(warehouse.execute("SELECT key, due_at - pulled_at FROM ops.webex_keys").fetchall())
        assert waits == expected
        again = load()
    assert again.success
    meta = load_metadata(again)
    assert meta["keys_due"] == meta["keys_loaded"] == len(active)


def test_shards_split_the_keys_once_and_a_new_count_rehomes_them(warehouse: psycopg.Connection) -> None:
    runs = [load(shard) for shard in SHARD_KEYS]
    assert all(run.success for run in runs)
    loaded = [load_metadata(run)["keys_loaded"] for run in runs]
    assert sum(loaded) == len(KEYS) and max(loaded) < len(KEYS)  # split, and every key once
    by_run = pulled_by(warehouse)
    for shard, run in zip(SHARD_KEYS, runs, strict=True):
        mine = {key for key, run_id in by_run.items() if run_id == run.run_id}
        in_shard = {key for (key,) in warehouse.execute(
            "SELECT key FROM ops.webex_keys WHERE mod(shard_hash, %s) = %s", (len(SHARD_KEYS), int(shard)))}
        assert mine == in_shard

    # Another shard count re-homes every key to exactly one shard, with its state.
    later = clock.now() + timedelta(days=30)
    for count in (1, 3, 7):
        homes = [key.key for shard in range(count)
                 for key in due_keys(warehouse, Shards((shard,), count), later, None)]
        assert sorted(homes) == KEYS
    marks = {key.key: key.loaded_through for key in due_keys(warehouse, Shards((0, 1, 2), 3), later, None)}
    assert all(marks[key] is not None for key in KEYS)


def test_a_shard_being_pulled_by_another_run_is_left_to_it(warehouse: psycopg.Connection) -> None:
    warehouse.execute("SELECT pg_advisory_lock(hashtextextended('webex shard 0 of ' || %s, 0))",
                      (len(SHARD_KEYS),))
    try:
        result = load("0")
    finally:
        warehouse.execute("SELECT pg_advisory_unlock_all()")
    assert result.success
    meta = load_metadata(result)
    assert (meta["keys_due"], meta["keys_loaded"]) == (0, 0)
    assert warehouse.execute("SELECT count(*) FROM ops.webex_keys WHERE run_id IS NOT NULL").fetchone() == (0,)
