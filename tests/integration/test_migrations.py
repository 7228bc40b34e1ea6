from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from yoyo import get_backend, read_migrations

from local_stack.launcher import LocalStack
from pipelines.model.events import EVENT_COLUMNS
from pipelines.paths import MIGRATIONS_DIR
from pipelines.warehouse.migrations import migrate
from pipelines.warehouse.urls import sqlalchemy_url


@contextmanager
def scratch_database(stack: LocalStack, name: str) -> Iterator[str]:
    """A new, empty database on the test server (a fixed name, dropped afterwards); its URL."""
    admin = stack.admin_url
    assert admin is not None
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")  # fixed name
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield urlunsplit(urlsplit(admin)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


@contextmanager
def migrated_before(stack: LocalStack, name: str, first_pending: str) -> Iterator[tuple[str, Callable[[], None]]]:
    """A scratch database migrated up to `first_pending` (excluded): its URL, and a function
    that applies the rest, for data written under the older schema to meet the newer."""
    with scratch_database(stack, name) as url:
        backend = get_backend(sqlalchemy_url(url))
        try:
            migrations = read_migrations(str(MIGRATIONS_DIR))
            with backend.lock():
                backend.apply_migrations(backend.to_apply(migrations.filter(lambda m: m.id < first_pending)))

            def apply_the_rest() -> None:
                with backend.lock():
                    backend.apply_migrations(backend.to_apply(migrations))

            yield url, apply_the_rest
        finally:
            backend.connection.close()


def test_migrations_are_recorded_and_reapplying_is_a_no_op(stack: LocalStack) -> None:
    assert migrate(stack.migration_url) == []
    with psycopg.connect(stack.migration_url) as conn:
        applied = {row[0] for row in conn.execute("SELECT migration_id FROM _yoyo_migration")}
    assert applied == {path.stem for path in MIGRATIONS_DIR.glob("*.sql")}


def test_layers_and_shared_model_exist(warehouse: psycopg.Connection) -> None:
    schemas = {row[0] for row in warehouse.execute("SELECT schema_name FROM information_schema.schemata")}
    assert {"raw", "core", "ops", "marts"} <= schemas
    columns = {row[0] for row in warehouse.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = 'core' AND table_name = 'message_events'")}
    contract = {"event_id", "source", "channel", "direction", "event_type", "status_raw",
                "occurred_at", "recipient", "campaign_id", "campaign_name", "message_id",
                "linked_message_id", "error_code", "error_reason", "loaded_at"}
    assert contract <= columns


def test_canonical_event_types_are_the_contracts(warehouse: psycopg.Connection) -> None:
    types = {row[0] for row in warehouse.execute("SELECT event_type FROM core.event_types")}
    assert types == {"queued", "sent", "delivered", "undelivered", "failed", "suppressed", "expired",
                     "received", "opened", "clicked", "bounced", "complained", "unsubscribed",
                     "subscribed", "replied", "triggered", "unknown"}


def test_status_lookup_ignores_case_and_spacing(warehouse: psycopg.Connection) -> None:
    row = warehouse.execute(
        "SELECT event_type FROM core.event_type_map WHERE source = 'mgage' AND status_key = core.status_key(%s)",
        ("  DELIVERED ",)).fetchone()
    assert row == ("delivered",)


def test_the_event_row_is_defined_once_and_the_table_follows_it(warehouse: psycopg.Connection) -> None:
    """The migrated core.message_events has exactly the columns (and types) of EVENT_COLUMNS,
    in that order, from which the staging table, COPY, merge and column schema are made."""
    table = warehouse.execute("""
        SELECT column_name, data_type FROM information_schema.columns
        WHERE table_schema = 'core' AND table_name = 'message_events'
        ORDER BY ordinal_position""").fetchall()
    assert table == [(column.name, column.pg_type) for column in EVENT_COLUMNS]


def test_a_migrator_killed_while_holding_the_lock_does_not_block_the_next(stack: LocalStack) -> None:
    """yoyo's lock row of a migrator that died (its pid long gone) is cleared by the next one."""
    with psycopg.connect(stack.migration_url, autocommit=True) as conn:
        conn.execute("INSERT INTO yoyo_lock (locked, ctime, pid) VALUES (1, now(), 999999)")
        try:
            assert migrate(stack.migration_url) == []  # no LockTimeout, nothing left to apply
            assert conn.execute("SELECT count(*) FROM yoyo_lock").fetchone() == (0,)
        finally:
            conn.execute("DELETE FROM yoyo_lock")


def test_the_webex_watermarks_move_into_the_followed_keys_one_row_per_customer(stack: LocalStack) -> None:
    """0008 replaces ops.webex_key_state: spellings of one customer merge into one key, with
    the furthest watermark, and their truncated days follow, the latest report of a day kept."""
    with migrated_before(stack, "webex_keys_migration", "0008") as (url, apply_the_rest):
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("""
                INSERT INTO ops.webex_key_state (key, loaded_through, run_id, updated_at) VALUES
                    ('+919812345670', '2026-11-10', 'r1', '2026-11-10 10:00Z'),
                    ('919812345670',  '2026-11-12', 'r2', '2026-11-12 10:00Z'),
                    ('Pat@Example.com', '2026-11-11', 'r3', '2026-11-11 10:00Z')""")
            conn.execute("""
                INSERT INTO ops.webex_truncations (key, local_date, returned, detected_at) VALUES
                    ('+919812345670', '2026-11-09', 50, '2026-11-09 10:00Z'),
                    ('919812345670',  '2026-11-09', 50, '2026-11-12 10:00Z'),
                    ('Pat@Example.com', '2026-11-08', 50, '2026-11-11 10:00Z')""")
        apply_the_rest()
        with psycopg.connect(url) as conn:
            keys = conn.execute("SELECT key, loaded_through::text, run_id, configured OR listed "
                                "FROM ops.webex_keys ORDER BY key").fetchall()
            cuts = conn.execute("SELECT key, local_date::text, detected_at::date::text "
                                "FROM ops.webex_truncations ORDER BY key").fetchall()
            old = conn.execute("SELECT to_regclass('ops.webex_key_state')").fetchone()
        # Followed again once WEBEX_KEYS or the audience lists them.
        assert keys == [("919812345670", "2026-11-12", "r2", False),
                        ("pat@example.com", "2026-11-11", "r3", False)]
        assert cuts == [("919812345670", "2026-11-09", "2026-11-12"),
                        ("pat@example.com", "2026-11-08", "2026-11-11")]
        assert old == (None,)


def test_a_migration_and_its_record_commit_together(stack: LocalStack, monkeypatch) -> None:
    """Killed between a migration's steps and its record, yoyo would leave it applied yet
    pending, and every later start would fail re-applying it. Here a failure at that very
    point (standing in for the kill) leaves neither, and the next start applies it."""
    from yoyo.backends.base import DatabaseBackend

    last = max(path.stem for path in MIGRATIONS_DIR.glob("*.sql"))
    mark_one = DatabaseBackend.mark_one

    def dies_before_recording_the_last(self, migration, log=True):
        if migration.id == last:
            raise RuntimeError("killed")
        return mark_one(self, migration, log=log)

    with scratch_database(stack, "migration_atomicity") as url:
        monkeypatch.setattr(DatabaseBackend, "mark_one", dies_before_recording_the_last)
        with pytest.raises(RuntimeError, match="killed"):
            migrate(url)
        monkeypatch.undo()
        with psycopg.connect(url) as conn:
            recorded = {row[0] for row in conn.execute("SELECT migration_id FROM _yoyo_migration")}
        assert last not in recorded and len(recorded) == len(list(MIGRATIONS_DIR.glob("*.sql"))) - 1
        assert migrate(url) == [last]  # nothing of it was left behind to collide with
