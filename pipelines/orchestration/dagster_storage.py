"""Dagster's own storage (runs, event logs, schedules), made whole before any run.

dagster-postgres creates its tables on first use, one statement at a time in autocommit, and
decides whether to create them by looking for its main table only. A process killed in the
middle leaves `runs` without `run_tags`, and every later start fails on the missing tables.

So the storage is built before anything opens it: in a scratch schema, under an advisory lock,
then renamed into place in one statement. A kill at any instant leaves either no `dagster`
schema (the next start builds it again from scratch) or a complete one. Dagster reads its
tables through `search_path`, which `storage_url` sets.

The vendors' pools are registered in it too, before a daemon first reads the queue
(`register_pools`)."""

from collections.abc import Iterable

import psycopg
from dagster import DagsterInstance
from psycopg import sql
from sqlalchemy.engine import make_url

from pipelines.warehouse.urls import libpq_url

SCHEMA = "dagster"
_BUILDING = "dagster_building"
# pg_advisory_lock key: one builder at a time per database (an arbitrary, fixed number).
_LOCK_KEY = 0x7069_7065_6461_6773


def storage_url(url: str, schema: str = SCHEMA) -> str:
    """The URL dagster-postgres gets: the psycopg2 driver (it writes psycopg2-style SQL, and
    SQLAlchemy 2.1 would pick psycopg 3 for a bare `postgresql://`) and `search_path` set to
    Dagster's schema, on top of whatever options the URL already carries."""
    parsed = make_url(url).set(drivername="postgresql+psycopg2")
    given = parsed.query.get("options")
    given_options = [given] if isinstance(given, str) else list(given or ())
    options = " ".join([*given_options, f"-csearch_path={schema}"])
    return parsed.update_query_dict({"options": options}).render_as_string(hide_password=False)


def prepare_storage(url: str) -> bool:
    """Make sure Dagster's schema exists and is complete; True if this call built it."""
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            if _schema_exists(conn, SCHEMA):
                return False
            building = sql.Identifier(_BUILDING)
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(building))  # a killed build
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(building))
            _create_tables(storage_url(url, _BUILDING))
            conn.execute(sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(building, sql.Identifier(SCHEMA)))
            return True
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))


def _schema_exists(conn: psycopg.Connection, schema: str) -> bool:
    return conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone() is not None


def _create_tables(url: str) -> None:
    """Let each of dagster-postgres's storages create (and stamp) its tables, then let go."""
    from dagster_postgres import (
        PostgresEventLogStorage,
        PostgresRunStorage,
        PostgresScheduleStorage,
    )

    for storage_class in (PostgresRunStorage, PostgresEventLogStorage, PostgresScheduleStorage):
        storage = storage_class(url)
        storage.dispose()


def register_pools(instance: DagsterInstance, pools: Iterable[str]) -> None:
    """Give each pool the limit the instance sets for every pool (`default_limit`) now, rather
    than when the queue first meets it. Dagster 1.13's queue reads the limits of the pools it
    knows, sets the default on those it sees for the first time, and holds no limit on them in
    that pass: on a new instance, its first pass would start every queued run of a vendor at
    once (a backfill's days and the Webex shards together). Idempotent: a pool keeps its limit
    (and only new pools are initialized: on PostgreSQL, Dagster's initialization of a pool it
    already has fails, its update running in the transaction its insert aborted)."""
    known = instance.event_log_storage.get_concurrency_keys()
    for pool in pools:
        if pool not in known:
            instance.event_log_storage.initialize_concurrency_limit_to_default(pool)
