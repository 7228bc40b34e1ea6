"""Fixtures shared by the tests: the pinned clock (every test), and the real stack, started
once per session — embedded PostgreSQL in a temporary directory and the vendor sandbox over
real HTTP, served from this process so that the pinned clock is its clock too."""

import os
from collections.abc import Iterator
from datetime import datetime

import psycopg
import pytest
import time_machine
from psycopg import sql

from local_stack.launcher import LocalStack, local_stack, source_variables
from pipelines.sources import registry
from pipelines.warehouse.urls import libpq_url
from sandbox.config import (
    CinnoxSandbox,
    MgageSandbox,
    SandboxConfig,
    SenderGuideSandbox,
    WebexSandbox,
)
from sandbox.process import RunningSandbox
from sandbox.server import serve_in_thread
from tests.instants import HARD_INSTANTS, SUITE_INSTANT

# Small, fixed volumes keep the suite fast; counts are exact because they come from the same
# generator the sandbox serves from.
TEST_SANDBOX = SandboxConfig(
    seed=7,
    mgage=MgageSandbox(username="test-mgage-user", password="test-mgage-secret",
                       program_ids=["1001", "1002"], daily_messages=120, mo_ratio=0.25),
    # A day has at least 63 sends (150, less 30% jitter, less 40% on weekends), so these rates
    # put at least one of every interaction type on every day: tests may assert all five.
    senderguide=SenderGuideSandbox(api_key="test-senderguide-key", message_ids=["7001", "7002"],
                                   timezone="America/New_York", daily_sends=150,
                                   bounce_rate=0.02, unsubscribe_rate=0.02),
    cinnox=CinnoxSandbox(app_id="test-cinnox-app", app_token="test-cinnox-token",
                         campaigns_per_day=2, min_recipients=20, max_recipients=250),
    webex=WebexSandbox(api_key="test-webex-key",
                       # 6581234567 is Singapore's +65 8123 4567, which a +1 reading would
                       # make a North-American number.
                       keys=["919812345670", "asha.kulkarni@example.in", "app-7f3a9c21e4b04d8f",
                             "919900000001", "6581234567"],
                       busy_keys=["919900000001"], timezone="Asia/Kolkata"),
)

_ISOLATED_VARS = ("WAREHOUSE_URL", "DAGSTER_POSTGRES_URL", "DAGSTER_HOME", "PIPELINES_LOCAL_DIR",
                  "PHONE_DEFAULT_REGION", "PIPELINES_PII_KEY", "PIPELINES_RETENTION_DAYS",
                  "PIPELINES_KEEP_MONTHS", "PIPELINES_REPORTING_TIMEZONE",
                  "PIPELINES_SANDBOX", "WAREHOUSE_MIGRATION_URL", "PIPELINES_ALLOW_UNVERIFIED_TLS", "PGSSLMODE")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--instant", type=datetime.fromisoformat, default=SUITE_INSTANT,
                     help="the instant (ISO 8601, with its offset) the suite's clock is pinned at")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow tests first on every worker. pytest-xdist's worksteal gives each worker a
    contiguous share of the collection (remaining // workers left, in order) and a worker that
    runs dry takes the end of another's share: so each share starts with its part of the slow
    tests, dealt round the workers, and the short ones fill in around them, rather than one long
    test ending the run on one worker while the others idle. The order is the same on every
    worker, as xdist requires."""
    slow = [item for item in items if item.get_closest_marker("slow")]
    fast = [item for item in items if not item.get_closest_marker("slow")]
    workers = max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
    ordered: list[pytest.Item] = []
    remaining, taken = len(items), 0
    for worker in range(workers):
        share = remaining // (workers - worker)
        remaining -= share
        mine = slow[worker::workers]
        filling = max(0, share - len(mine))
        ordered += mine + fast[taken:taken + filling]
        taken += filling
    items[:] = ordered + fast[taken:]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A `day_sensitive` test runs at the suite's instant and at every hard instant."""
    if metafunc.definition.get_closest_marker("day_sensitive"):
        instants = {"suite": metafunc.config.getoption("instant")} | HARD_INSTANTS
        metafunc.parametrize("instant", list(instants.values()), ids=list(instants), indirect=True)


@pytest.fixture
def instant(request: pytest.FixtureRequest) -> datetime:
    """The instant this test's clock starts at."""
    return getattr(request, "param", None) or request.config.getoption("instant")


@pytest.fixture(autouse=True)
def pinned_clock(instant: datetime) -> Iterator[datetime]:
    """Every test runs on a clock pinned at `instant`: the product's, Dagster's and the
    in-process sandbox's alike (Postgres keeps its own, for load timestamps only). It stands
    still: the sandbox's data depends on its now (the audience Webex follows, an activation's,
    are of events up to now), so a clock that ticked let two steps of a test see different data
    when the machine was slow between them."""
    with time_machine.travel(instant, tick=False):
        yield instant


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """The whole local stack, as `make run` starts it, but under a temporary directory and
    with every source on the sandbox whatever the developer's environment holds."""
    names = set(_ISOLATED_VARS) | source_variables()
    saved = {name: os.environ.pop(name) for name in names if name in os.environ}
    try:
        with serve_in_thread(TEST_SANDBOX) as (url, _), local_stack(
                sandbox=RunningSandbox(url, TEST_SANDBOX, os.getpid()),
                local_dir=tmp_path_factory.mktemp("local")) as running:
            yield running
    finally:
        os.environ.update(saved)


@pytest.fixture
def warehouse(stack: LocalStack) -> Iterator[psycopg.Connection]:
    """A connection to an emptied warehouse (reference data kept), as the role that owns it
    (the migrator): tests set up what the loader may not."""
    tables = ["core.message_events", "core.status_history", *(source.raw_table for source in registry()),
              "ops.quarantine", "ops.partition_loads", "ops.webex_keys", "ops.webex_truncations",
              "ops.mapping_versions", "ops.activation_outbox"]
    with psycopg.connect(libpq_url(stack.migration_url), autocommit=True) as conn:
        conn.execute(sql.SQL("TRUNCATE {}").format(
            sql.SQL(", ").join(sql.Identifier(*table.split(".")) for table in tables)))
        yield conn
