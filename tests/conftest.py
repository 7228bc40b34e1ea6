"""Fixtures shared by the integration tests: the real stack, started once per session —
embedded PostgreSQL in a temporary directory and the vendor sandbox over real HTTP."""

import os
from collections.abc import Iterator

import psycopg
import pytest

from pipelines.launcher import SOURCES, LocalStack, local_stack
from pipelines.warehouse.urls import libpq_url
from sandbox.config import (
    CinnoxSandbox,
    MgageSandbox,
    SandboxConfig,
    SenderGuideSandbox,
    WebexSandbox,
)

# Small, fixed volumes keep the suite fast; counts are exact because they come from the same
# generator the sandbox serves from.
TEST_SANDBOX = SandboxConfig(
    seed=7,
    mgage=MgageSandbox(username="test-mgage-user", password="test-mgage-secret",
                       program_ids=["1001", "1002"], daily_messages=120, mo_ratio=0.25),
    senderguide=SenderGuideSandbox(api_key="test-senderguide-key", message_ids=["7001", "7002"],
                                   timezone="America/New_York", daily_sends=150),
    cinnox=CinnoxSandbox(app_id="test-cinnox-app", app_token="test-cinnox-token",
                         campaigns_per_day=2, min_recipients=20, max_recipients=250),
    webex=WebexSandbox(api_key="test-webex-key",
                       keys=["919812345670", "asha.kulkarni@example.in", "app-7f3a9c21e4b04d8f",
                             "919900000001"],
                       busy_keys=["919900000001"], timezone="Asia/Kolkata"),
)

_ISOLATED_VARS = ("WAREHOUSE_URL", "DAGSTER_POSTGRES_URL", "DAGSTER_HOME", "PIPELINES_LOCAL_DIR",
                  "PHONE_DEFAULT_REGION")


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """The whole local stack, as `make run` starts it, but under a temporary directory and
    with every source on the sandbox whatever the developer's environment holds."""
    names = set(_ISOLATED_VARS)
    for spec in SOURCES:
        names |= set(spec.credential_vars) | set(spec.required_vars) | set(spec.defaults)
    saved = {name: os.environ.pop(name) for name in names if name in os.environ}
    try:
        with local_stack(sandbox_config=TEST_SANDBOX, local_dir=tmp_path_factory.mktemp("local")) as running:
            yield running
    finally:
        os.environ.update(saved)


@pytest.fixture
def warehouse(stack: LocalStack) -> Iterator[psycopg.Connection]:
    """A connection to an emptied warehouse (reference data kept)."""
    with psycopg.connect(libpq_url(stack.warehouse_url), autocommit=True) as conn:
        conn.execute("""
            TRUNCATE core.message_events, raw.mgage_messages, raw.senderguide_interactions,
                     raw.cinnox_campaign_recipients, raw.webex_transactions, ops.quarantine,
                     ops.partition_loads, ops.webex_key_state, ops.webex_truncations
        """)
        yield conn
