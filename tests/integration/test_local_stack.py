"""What the local stack refuses before it touches anything (a real warehouse without a
database of Dagster's own, without the pseudonyms' secret, over unverified TLS, or filled by the
sandbox unasked), and how it keeps the sandbox apart: rows marked, no secrets handed to it."""

from pathlib import Path

import psycopg
import pytest

from local_stack.launcher import ConfigurationError, LocalStack, local_stack, source_variables
from pipelines.sources import registry
from sandbox.config import SandboxConfig
from sandbox.process import sandbox_process
from tests.support import days_ago, run_job

# Nothing listens here: a test that got as far as connecting would fail differently.
NOWHERE = "postgresql://nobody@127.0.0.1:9/none"
# Another machine (a reserved name that never resolves).
REMOTE = "postgresql://nobody:pw@warehouse.invalid:5432/none"


def test_a_real_warehouse_needs_a_dagster_database_of_its_own(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAREHOUSE_URL", NOWHERE)
    monkeypatch.delenv("DAGSTER_POSTGRES_URL", raising=False)
    with pytest.raises(ConfigurationError, match="DAGSTER_POSTGRES_URL is required with WAREHOUSE_URL"), \
            local_stack(local_dir=tmp_path):
        pass


def test_a_real_warehouse_needs_the_pseudonyms_secret(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAREHOUSE_URL", NOWHERE)
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", NOWHERE)
    monkeypatch.delenv("PIPELINES_PII_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="PIPELINES_PII_KEY is required with WAREHOUSE_URL"), \
            local_stack(local_dir=tmp_path):
        pass
    assert not (tmp_path / "pii.key").exists()  # never generated for a real warehouse


@pytest.fixture
def real_warehouse(monkeypatch: pytest.MonkeyPatch) -> None:
    """A real warehouse's settings (at an address where nothing listens), no vendor credentials."""
    for name in source_variables():
        monkeypatch.delenv(name, raising=False)
    for name in ("PIPELINES_SANDBOX", "PIPELINES_ALLOW_UNVERIFIED_TLS", "PGSSLMODE", "WAREHOUSE_MIGRATION_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WAREHOUSE_URL", NOWHERE)
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", NOWHERE)
    monkeypatch.setenv("PIPELINES_PII_KEY", "a-secret")


def test_with_a_real_warehouse_the_sandbox_is_opt_in(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, real_warehouse: None) -> None:
    with pytest.raises(ConfigurationError, match="PIPELINES_SANDBOX=1"), local_stack(local_dir=tmp_path):
        pass
    monkeypatch.setenv("PIPELINES_SANDBOX", "1")  # asked for: it gets as far as connecting
    with pytest.raises(psycopg.OperationalError), local_stack(local_dir=tmp_path):
        pass


@pytest.mark.parametrize("variable", ["WAREHOUSE_URL", "WAREHOUSE_MIGRATION_URL", "DAGSTER_POSTGRES_URL"])
def test_a_remote_database_needs_verified_tls(
        variable: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, real_warehouse: None) -> None:
    monkeypatch.setenv("PIPELINES_SANDBOX", "1")
    monkeypatch.setenv(variable, REMOTE)
    with pytest.raises(ConfigurationError, match=f"{variable}: a remote database needs sslmode=verify-full"), \
            local_stack(local_dir=tmp_path):
        pass
    for verified in ({variable: f"{REMOTE}?sslmode=verify-full"}, {"PGSSLMODE": "verify-ca"},
                     {"PIPELINES_ALLOW_UNVERIFIED_TLS": "1"}):
        with monkeypatch.context() as patched:
            for name, value in verified.items():
                patched.setenv(name, value)
            # Past the check: the connection itself fails (nothing answers there).
            with pytest.raises(psycopg.OperationalError), local_stack(local_dir=tmp_path):
                pass


def test_sandbox_rows_are_marked(stack: LocalStack, warehouse: psycopg.Connection) -> None:
    assert {stack.environment[source.origin_variable] for source in registry()} == {"sandbox"}
    assert run_job("mgage_daily", days_ago(1).isoformat()).success
    assert warehouse.execute("SELECT count(*), bool_and(sandbox) FROM core.message_events").fetchone()[1] is True


def test_the_sandbox_child_gets_no_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAREHOUSE_URL", "postgresql://loader:warehouse-password@db.example/w")
    monkeypatch.setenv("MGAGE_PASSWORD", "vendor-password")
    monkeypatch.setenv("PIPELINES_PII_KEY", "pii-secret")
    with sandbox_process(SandboxConfig.with_random_credentials()) as running:
        environment = Path(f"/proc/{running.pid}/environ").read_bytes().decode()
    for secret in ("warehouse-password", "vendor-password", "pii-secret"):
        assert secret not in environment
