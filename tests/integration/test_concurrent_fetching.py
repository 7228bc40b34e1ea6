"""Pages fetched side by side load exactly what the sequential walk loads, whatever order
they arrive in (the sandbox's jitter shuffles them), and a vendor-side limit slows a load
down without failing it."""

import dataclasses
from collections.abc import Iterator

import psycopg
import pytest

from pipelines.transport.concurrency import SLOW_ITEM_S
from sandbox.config import SandboxConfig, VendorNetwork
from sandbox.server import SandboxApp, serve_in_thread
from tests.conftest import TEST_SANDBOX
from tests.support import days_ago, events_snapshot, run_job

DAILY = {"mgage": "MGAGE", "senderguide": "SENDERGUIDE", "cinnox": "CINNOX"}
# Answers slow enough to be fetched side by side (SLOW_ITEM_S), arriving in a random (seeded)
# order: each waits 50 to 80 ms.
SLOW = SLOW_ITEM_S * 1000 + 10
JITTERY = dataclasses.replace(
    TEST_SANDBOX, network={name: VendorNetwork(latency_ms=SLOW, jitter_ms=30) for name in DAILY},
    # Campaigns of several pages each, so that CINNOX has pages to fetch side by side.
    cinnox=dataclasses.replace(TEST_SANDBOX.cinnox, campaigns_per_day=4, min_recipients=250,
                               max_recipients=400))
LIMITED = dataclasses.replace(TEST_SANDBOX, network={
    name: VendorNetwork(latency_ms=SLOW, max_concurrent=2) for name in DAILY})


@pytest.fixture
def vendors(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[SandboxApp]:
    config: SandboxConfig = request.param
    with serve_in_thread(config) as (url, app):
        for prefix in DAILY.values():
            monkeypatch.setenv(f"{prefix}_BASE_URL", url)
        yield app


def load_stats(conn: psycopg.Connection) -> list[tuple]:
    return conn.execute("""SELECT source, partition_date, records_fetched, duplicates, quarantined,
                                  out_of_window, inserted FROM ops.partition_loads
                           ORDER BY source, partition_date""").fetchall()


def load_every_daily_source(monkeypatch: pytest.MonkeyPatch, concurrency: int) -> None:
    for name, prefix in DAILY.items():
        monkeypatch.setenv(f"{prefix}_MAX_CONCURRENCY", str(concurrency))
        result = run_job(f"{name}_daily", partition_key=days_ago(1).isoformat())
        assert result.success, name


@pytest.mark.parametrize("vendors", [JITTERY], indirect=True, ids=["jittery"])
def test_concurrent_loads_commit_exactly_what_the_sequential_walk_commits(
        warehouse: psycopg.Connection, vendors: SandboxApp, monkeypatch: pytest.MonkeyPatch) -> None:
    load_every_daily_source(monkeypatch, concurrency=1)
    sequential, sequential_stats = events_snapshot(warehouse), load_stats(warehouse)
    assert {row[1] for row in sequential} == set(DAILY)
    warehouse.execute("TRUNCATE core.message_events, raw.mgage_messages, raw.senderguide_interactions, "
                      "raw.cinnox_campaign_recipients, ops.partition_loads")
    load_every_daily_source(monkeypatch, concurrency=8)
    stats = vendors.network_stats()
    assert all(stats[name].peak_concurrent > 1 for name in DAILY), stats  # side by side, really
    # The same rows (load times aside), the same duplicates and the same quarantine.
    assert [row[:-1] for row in events_snapshot(warehouse)] == [row[:-1] for row in sequential]
    assert load_stats(warehouse) == sequential_stats


@pytest.mark.parametrize("vendors", [LIMITED], indirect=True, ids=["limited"])
def test_a_vendor_side_limit_slows_a_load_but_never_fails_it(
        warehouse: psycopg.Connection, vendors: SandboxApp, monkeypatch: pytest.MonkeyPatch) -> None:
    load_every_daily_source(monkeypatch, concurrency=8)
    stats = vendors.network_stats()
    assert sum(stats[name].throttled for name in DAILY) > 0  # the limit was reached...
    assert all(stats[name].peak_concurrent <= 2 for name in DAILY)  # ...and held
    loaded = dict(warehouse.execute("SELECT source, count(*) FROM core.message_events GROUP BY source").fetchall())
    assert set(loaded) == set(DAILY) and all(loaded.values())
