"""The warehouse's roles (sql/migrations/0007_roles.sql) against the real server: each sees
what it should and is refused the rest."""

import secrets
from collections.abc import Iterator
from datetime import UTC, date, datetime

import psycopg
import pytest
from dagster import build_init_resource_context
from psycopg import sql
from sqlalchemy.engine import make_url

from local_stack.launcher import LocalStack
from pipelines.model.events import MessageEvent, make_event_id
from pipelines.model.pseudonyms import pseudonym
from pipelines.transport.paging import Page
from pipelines.warehouse.loading import LoadScope, LoadTarget, Stamp, load_pages
from pipelines.warehouse.migrations import fill_pseudonyms, migrate
from pipelines.warehouse.resource import SchemaOutOfDate, Warehouse
from pipelines.warehouse.urls import libpq_url

KEY = "roles-test-key"
RECIPIENT = "+15550001111"
SCOPE = LoadScope.day(LoadTarget("webex", "raw.webex_transactions"), date(2026, 11, 17))


def map_record(record: dict, context: dict) -> MessageEvent:
    return MessageEvent(
        event_id=make_event_id("webex", record["id"]), source="webex", channel="sms",
        direction="outbound", status_raw="Sent", occurred_at=datetime(2026, 11, 17, 9, tzinfo=UTC),
        recipient=RECIPIENT, attributes={"msg_preview_url": "https://preview.test/1",
                                         "customer_id": "c-1", "deployment_id": "d-1"})


def login(stack: LocalStack, *groups: str) -> str:
    """A fresh login in `groups`, made by the migrator (who administers the group roles); its URL."""
    name = f"test_{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(16)
    with psycopg.connect(libpq_url(stack.migration_url), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(name), sql.Literal(password)))
        for group in groups:
            conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(group), sql.Identifier(name)))
    return make_url(libpq_url(stack.migration_url)).set(username=name, password=password) \
        .render_as_string(hide_password=False)


@pytest.fixture
def loaded(warehouse: psycopg.Connection, stack: LocalStack) -> Iterator[None]:
    """One Webex event loaded by the product's own login (the loader), and one quarantined record."""
    with psycopg.connect(libpq_url(stack.warehouse_url)) as conn:
        load_pages(conn, SCOPE, [Page([{"id": 1}], {"key": RECIPIENT})], map_record, stamp=Stamp(KEY))
        load_pages(conn, SCOPE, [Page([{"id": "\x00"}], {"key": RECIPIENT})], map_record, stamp=Stamp(KEY))
    yield


def refused(url: str, statement: str) -> bool:
    with psycopg.connect(url, autocommit=True) as conn:
        try:
            conn.execute(statement)
        except psycopg.errors.InsufficientPrivilege:
            return True
    return False


def test_an_analyst_reads_the_marts_with_pseudonyms_and_nothing_else(stack: LocalStack, loaded: None) -> None:
    analyst = login(stack, "analyst")
    with psycopg.connect(analyst) as conn:
        row = conn.execute("SELECT recipient_pseudonym, attributes, sandbox FROM marts.message_events").fetchone()
        status = conn.execute("SELECT recipient_pseudonym FROM marts.recipient_message_status").fetchone()
        columns = {column for (column,) in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'marts'")}
    assert row == (pseudonym(RECIPIENT, KEY), {"deployment_id": "d-1"}, False)  # no preview link, no customer id
    assert status == (pseudonym(RECIPIENT, KEY),)
    assert "recipient" not in columns  # no mart shows a clear address
    for statement in ("SELECT 1 FROM core.message_events", "SELECT 1 FROM raw.webex_transactions",
                      "SELECT 1 FROM ops.quarantine", "SELECT 1 FROM ops.webex_keys",
                      "INSERT INTO core.event_type_map VALUES ('x', 'y', 'y', 'sent')"):
        assert refused(analyst, statement), statement


def test_a_pii_reader_reads_clear_values_and_writes_nothing(stack: LocalStack, loaded: None) -> None:
    reader = login(stack, "pii_reader")
    with psycopg.connect(reader) as conn:
        assert conn.execute("SELECT recipient FROM core.message_events").fetchone() == (RECIPIENT,)
        assert conn.execute("SELECT payload->>'id' FROM raw.webex_transactions").fetchone() == ("1",)
        assert conn.execute("SELECT count(*) FROM ops.quarantine").fetchone() == (1,)
        assert conn.execute("SELECT count(*) FROM marts.message_events").fetchone() == (1,)  # an analyst too
    for statement in ("DELETE FROM core.message_events", "UPDATE raw.webex_transactions SET payload = '{}'",
                      "CREATE TABLE core.mine (x int)"):
        assert refused(reader, statement), statement


def test_the_loader_writes_rows_but_never_the_schema(stack: LocalStack, loaded: None) -> None:
    loader = libpq_url(stack.warehouse_url)
    with psycopg.connect(loader) as conn:
        assert conn.execute("SELECT count(*) FROM core.message_events").fetchone() == (1,)
        assert not conn.execute("SELECT rolsuper OR rolcreaterole OR rolcreatedb FROM pg_roles "
                                "WHERE rolname = current_user").fetchone()[0]
    for statement in ("CREATE TABLE raw.mine (x int)", "DROP TABLE raw.webex_transactions",
                      "ALTER TABLE core.message_events ADD COLUMN x int", "TRUNCATE core.message_events",
                      "UPDATE core.event_type_map SET event_type = 'sent'", "CREATE SCHEMA mine"):
        assert refused(loader, statement), statement
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        migrate(loader)  # migrations are the migrator's step (make migrate), never a load's


def test_public_gets_nothing(stack: LocalStack) -> None:
    nobody = login(stack)  # a login in no group
    with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
        psycopg.connect(nobody).close()


def test_events_from_before_the_pseudonyms_get_theirs(stack: LocalStack, loaded: None,
                                                      warehouse: psycopg.Connection) -> None:
    warehouse.execute("UPDATE core.message_events SET recipient_pseudonym = NULL")  # as before 0007
    assert fill_pseudonyms(stack.migration_url, KEY, batch=1) == 1
    assert warehouse.execute("SELECT recipient_pseudonym FROM core.message_events").fetchall() == [
        (pseudonym(RECIPIENT, KEY),)]
    assert fill_pseudonyms(stack.migration_url, KEY) == 0  # nothing left: re-running is free


def test_a_run_refuses_a_warehouse_that_lacks_migrations_and_applies_none(stack: LocalStack) -> None:
    assert stack.admin_url is not None
    name = f"unmigrated_{secrets.token_hex(4)}"
    with psycopg.connect(libpq_url(stack.admin_url), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_url(libpq_url(stack.admin_url)).set(database=name).render_as_string(hide_password=False)
    try:
        with pytest.raises(SchemaOutOfDate, match="make migrate"):
            Warehouse(url=url, pii_key=KEY).setup_for_execution(build_init_resource_context())
        with psycopg.connect(url) as conn:  # nothing was applied on the way
            assert conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 'core'").fetchone() == (0,)
    finally:
        with psycopg.connect(libpq_url(stack.admin_url), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(name)))
