"""Helpers the integration tests of every source share: run a job as Dagster would, read a
materialization's metadata, snapshot the shared table, and serve a sandbox of a test's own."""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import pytest
from dagster import AssetKey, DagsterInstance, ExecuteInProcessResult
from psycopg import sql

from local_stack.launcher import source_variables
from pipelines.definitions import defs
from pipelines.model import clock
from pipelines.model.events import EVENT_COLUMNS
from pipelines.orchestration.partitions import partition_range_tags
from pipelines.sources.webex.shards import SHARDS
from sandbox.server import SandboxApp, serve_in_thread
from tests.conftest import TEST_SANDBOX
from tests.instants import pinned_environment

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Playwright

# The browser tests' Chromium: the system's, headless, with nothing of its own on the network.
CHROMIUM_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


def days_ago(days: int, zone: tzinfo = UTC) -> date:
    """The date `days` before today in `zone`, on the test's pinned clock (tests/instants.py)."""
    return clock.today(zone) - timedelta(days=days)


def run_job(job: str, partition_key: str | None = None,
            tags: dict[str, str] | None = None, run_config: dict | None = None) -> ExecuteInProcessResult:
    """One run of a job of the code location, on an ephemeral instance, errors kept in the result."""
    return defs.resolve_job_def(job).execute_in_process(
        instance=DagsterInstance.ephemeral(), partition_key=partition_key, tags=tags,
        run_config=run_config, raise_on_error=False)


def run_webex(shard: str | None = None) -> ExecuteInProcessResult:
    """One Webex load: over one shard of its keys, or over every shard as `make run` does."""
    shards = SHARDS.get_partition_keys()
    tags = None if shard else partition_range_tags(shards[0], shards[-1])
    return run_job("webex_incremental", partition_key=shard, tags=tags)


def materialization_metadata(result: ExecuteInProcessResult, node: str, key: AssetKey) -> dict:
    """The metadata of the last materialization of `key` by the op `node`, as plain values."""
    [materialization] = [m for m in result.asset_materializations_for_node(node)
                         if m.asset_key == key][-1:]
    return {name: value.value for name, value in materialization.metadata.items()}


def events_snapshot(conn: psycopg.Connection, source: str | None = None) -> list[tuple]:
    """Every column that matters of core.message_events, loaded_at last (first_loaded_at is
    only ever set once), in a stable order."""
    names = [column.name for column in EVENT_COLUMNS if column.name not in ("first_loaded_at", "loaded_at")]
    columns = sql.SQL(", ").join(sql.Identifier(name) for name in [*names, "loaded_at"])
    return conn.execute(sql.SQL("""
        SELECT {} FROM core.message_events
        WHERE %(source)s::text IS NULL OR source = %(source)s
        ORDER BY event_id""").format(columns), {"source": source}).fetchall()


@contextmanager
def own_sandbox(monkeypatch: pytest.MonkeyPatch, base_url_var: str) -> Iterator[SandboxApp]:
    """A sandbox of the test's own for one source, so advancing its statuses affects no other
    test; the source's base URL points at it for the test's duration."""
    with serve_in_thread(TEST_SANDBOX) as (url, app):
        monkeypatch.setenv(base_url_var, url)
        yield app


def child_run_env(local_dir: Path, instant: datetime, frozen: bool = False, **extra: str) -> dict[str, str]:
    """The environment of a `python -m local_stack run` child: the developer's variables for the
    warehouse, Dagster and every source removed, so that it starts its own embedded warehouse
    and sandbox under `local_dir` (unless `extra` configures otherwise), with its clock and
    its children's starting at `instant` (and staying there if `frozen`)."""
    env = {name: value for name, value in os.environ.items()
           if name not in {"WAREHOUSE_URL", "DAGSTER_POSTGRES_URL", "DAGSTER_HOME", "PIPELINES_PII_KEY"}}
    for name in source_variables():
        env.pop(name, None)
    return pinned_environment(instant, env | {"PIPELINES_LOCAL_DIR": str(local_dir)} | extra, frozen)


def database_text(conn: psycopg.Connection) -> str:
    """Every row of every table of the database, as text."""
    tables = conn.execute("""SELECT table_schema, table_name FROM information_schema.tables
                             WHERE table_type = 'BASE TABLE'
                               AND table_schema NOT IN ('pg_catalog', 'information_schema')""").fetchall()
    return "\n".join(
        row[0] for schema, table in tables
        for row in conn.execute(sql.SQL("SELECT t::text FROM {} AS t").format(sql.Identifier(schema, table))))


def everything_written(local_dir: Path) -> dict[str, str]:
    """What a `make run` under `local_dir` left: every table of the warehouse and of Dagster's
    database (runs, event logs, schedules), and every file of Dagster's home (compute logs)."""
    from local_stack.embedded import embedded_postgres

    places = {}
    with embedded_postgres(local_dir / "pgdata") as server:
        for database in ("warehouse", "dagster"):
            with psycopg.connect(server.database_url(database)) as conn:
                places[f"database {database}"] = database_text(conn)
    for path in (local_dir / "dagster").rglob("*"):
        if path.is_file() and path.stat().st_size < 5_000_000:
            places[str(path)] = path.read_text(errors="replace")
    return places


def headless_chromium(playwright: "Playwright") -> "Browser":
    """The browser the UI and dashboard tests look through (CHROMIUM_FLAGS)."""
    return playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS)
