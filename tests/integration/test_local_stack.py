"""What the local stack refuses before it touches anything: a real warehouse without a
database of Dagster's own, or without the pseudonyms' secret."""

from pathlib import Path

import pytest

from local_stack.launcher import ConfigurationError, local_stack

# Nothing listens here: a test that got as far as connecting would fail differently.
NOWHERE = "postgresql://nobody@127.0.0.1:9/none"


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
