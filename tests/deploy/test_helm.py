"""The Helm deployment, without Helm or a cluster: the values use only key paths recorded from the
pinned chart, and the instance they render (deploy/helm/dagster.yaml) passes Dagster's own
configuration validation, with dagster-k8s and dagster-postgres, and says what the values say.

Dagster has no public API that validates an instance file without opening its storage and
building its run launcher, so this uses what `DagsterInstance` itself runs on loading:
`dagster._core.instance.config.dagster_instance_config` for the file, then each configured
class's own schema (`dagster._config.validate_config`) for its section."""

import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from dagster._config import validate_config
from dagster._core.instance.config import dagster_instance_config
from dagster._serdes.config_class import class_from_code_pointer
from dagster_postgres.utils import pg_url_from_config
from sqlalchemy.engine import make_url

from pipelines.orchestration.dagster_storage import SCHEMA
from pipelines.paths import PROJECT_ROOT
from pipelines.warehouse.urls import unverified_remote

HELM = PROJECT_ROOT / "deploy" / "helm"
VALUES = yaml.safe_load((HELM / "values.yaml").read_text())
INSTANCE = yaml.safe_load((HELM / "dagster.yaml").read_text())
LOCAL_INSTANCE = yaml.safe_load((PROJECT_ROOT / "dagster.yaml").read_text())
STORAGES = ("run_storage", "event_log_storage", "schedule_storage")


def recorded_chart_keys() -> tuple[str, list[str]]:
    """The chart version and the key paths deploy/helm/chart-keys.txt records."""
    text = (HELM / "chart-keys.txt").read_text()
    version = re.search(r"^# chart-version: (\S+)$", text, re.MULTILINE)
    assert version, "chart-keys.txt names no chart-version"
    paths = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return version.group(1), paths


def key_paths(node: Any, prefix: str = "") -> Iterator[str]:
    """Every leaf key path of a values document: `a.b`, `a.list[].c`."""
    if isinstance(node, dict) and node:
        for key, value in node.items():
            yield from key_paths(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(node, list) and node and all(isinstance(item, dict) for item in node):
        for item in node:
            yield from key_paths(item, f"{prefix}[]")
    else:
        yield prefix


def covered_by(path: str, recorded: str) -> bool:
    """Whether `recorded` names `path`, itself or as a pass-through mapping (`a.b.*`) above it."""
    if recorded.endswith(".*"):
        return f"{path}.".startswith(recorded[:-1])
    return path == recorded


def test_values_use_only_the_recorded_chart_keys_and_each_of_them() -> None:
    _, recorded = recorded_chart_keys()
    used = sorted(set(key_paths(VALUES)))
    assert [path for path in used if not any(covered_by(path, key) for key in recorded)] == []
    assert [key for key in recorded if not any(covered_by(path, key) for path in used)] == []


def test_the_recorded_chart_is_the_pinned_dagster_and_the_one_deployed() -> None:
    """The chart's version is Dagster's: moving the pin means checking the keys again."""
    version, _ = recorded_chart_keys()
    for lock in ("runtime.txt", "lock.txt"):
        pinned = re.search(r"^dagster==(\S+)", (PROJECT_ROOT / "requirements" / lock).read_text(), re.MULTILINE)
        assert pinned and pinned.group(1) == version, lock
    readme = (PROJECT_ROOT / "deploy" / "README.md").read_text()
    assert set(re.findall(r"--version (\S+)", readme)) == {version}


def schema_has(schema: dict[str, Any], parts: list[str], root: dict[str, Any]) -> bool:
    """Whether a JSON schema (the chart's values.schema.json) admits the key path `parts`, split
    by `split_path`; `*` at the end admits whatever the schema holds there."""
    if not parts or parts == ["*"]:
        return True
    if "$ref" in schema:
        reference = schema["$ref"]
        if not reference.startswith("#/"):
            return True  # a Kubernetes object's schema, published apart: its keys are Kubernetes's
        target = root
        for part in reference[2:].split("/"):
            target = target[part]
        return schema_has(target, parts, root)
    branches = [*schema.get("anyOf", []), *schema.get("oneOf", []), *schema.get("allOf", [])]
    if any(schema_has(branch, parts, root) for branch in branches):
        return True
    head, rest = parts[0], parts[1:]
    if head == "[]":
        return "items" in schema and schema_has(schema["items"], rest, root)
    if head in schema.get("properties", {}):
        return schema_has(schema["properties"][head], rest, root)
    additional = schema.get("additionalProperties")
    return isinstance(additional, dict) and schema_has(additional, rest, root)


def split_path(path: str) -> list[str]:
    """`a.list[].b` as ["a", "list", "[]", "b"]."""
    return [part for key in path.split(".") for part in ([key[:-2], "[]"] if key.endswith("[]") else [key])]


@pytest.mark.skipif(not os.environ.get("DAGSTER_CHART_DIR"), reason=(
    "DAGSTER_CHART_DIR unset: `helm pull dagster --repo https://dagster-io.github.io/helm "
    "--version <chart-version> --untar` and point it at the folder to check the keys against the chart"))
def test_the_recorded_keys_exist_in_the_real_charts_schema() -> None:
    chart = Path(os.environ["DAGSTER_CHART_DIR"])
    version, recorded = recorded_chart_keys()
    assert yaml.safe_load((chart / "Chart.yaml").read_text())["version"] == version
    schema = json.loads((chart / "values.schema.json").read_text())
    assert [key for key in recorded if not schema_has(schema, split_path(key), schema)] == []


@pytest.fixture
def instance_dir(tmp_path: Path) -> Path:
    shutil.copy(HELM / "dagster.yaml", tmp_path / "dagster.yaml")
    return tmp_path


def test_kubernetes_instance_passes_dagsters_validation(instance_dir: Path) -> None:
    config, custom_class = dagster_instance_config(str(instance_dir))
    assert custom_class is None
    configured = {name: section for name, section in config.items()
                  if isinstance(section, dict) and {"module", "class"} <= section.keys()}
    assert set(configured) == {*STORAGES, "run_launcher", "run_coordinator", "compute_logs", "scheduler"}
    for name, section in configured.items():
        klass = class_from_code_pointer(section["module"], section["class"])  # installed, importable
        result = validate_config(klass.config_type(), section.get("config") or {})
        assert result.success, (name, [error.message for error in result.errors])
    assert config["run_launcher"]["class"] == "K8sRunLauncher"
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    assert {config[name]["class"] for name in STORAGES} == {
        "PostgresRunStorage", "PostgresEventLogStorage", "PostgresScheduleStorage"}


def test_a_typo_in_the_kubernetes_instance_fails_validation(instance_dir: Path) -> None:
    """The check above would catch a misspelt launcher key (here `env_secret`)."""
    instance = yaml.safe_load((instance_dir / "dagster.yaml").read_text())
    launcher = instance["run_launcher"]
    launcher["config"]["env_secret"] = launcher["config"].pop("env_secrets")
    klass = class_from_code_pointer(launcher["module"], launcher["class"])
    assert not validate_config(klass.config_type(), launcher["config"]).success


def test_the_instance_says_what_the_values_say() -> None:
    """Each value the chart carries into dagster.yaml, compared with the file."""
    postgres = VALUES["postgresql"]
    database = {"username": postgres["postgresqlUsername"], "password": {"env": "DAGSTER_PG_PASSWORD"},
                "hostname": postgres["postgresqlHost"], "db_name": postgres["postgresqlDatabase"],
                "port": postgres["service"]["port"], "params": postgres["postgresqlParams"],
                "scheme": postgres["postgresqlScheme"]}
    for name in STORAGES:
        assert INSTANCE[name]["config"]["postgres_db"] == database, name

    values_launcher = VALUES["runLauncher"]["config"]["k8sRunLauncher"]
    launcher = INSTANCE["run_launcher"]["config"]
    assert VALUES["runLauncher"]["type"] == INSTANCE["run_launcher"]["class"]
    assert launcher["env_secrets"] == [secret["name"] for secret in values_launcher["envSecrets"]]
    assert launcher["image_pull_policy"] == values_launcher["imagePullPolicy"]
    assert launcher["security_context"] == values_launcher["securityContext"]
    assert launcher["resources"] == values_launcher["resources"]
    assert launcher["run_k8s_config"]["pod_spec_config"] == values_launcher["runK8sConfig"]["podSpecConfig"]
    assert launcher["postgres_password_secret"] == VALUES["global"]["postgresqlSecretName"]

    daemon = VALUES["dagsterDaemon"]
    assert INSTANCE["run_coordinator"]["class"] == daemon["runCoordinator"]["type"]
    assert INSTANCE["run_monitoring"] == {
        "enabled": daemon["runMonitoring"]["enabled"],
        "start_timeout_seconds": daemon["runMonitoring"]["startTimeoutSeconds"],
        "poll_interval_seconds": daemon["runMonitoring"]["pollIntervalSeconds"]}
    assert INSTANCE["run_retries"] == {"enabled": daemon["runRetries"]["enabled"],
                                       "max_retries": daemon["runRetries"]["maxRetries"]}
    pools, runs = VALUES["concurrency"]["pools"], VALUES["concurrency"]["runs"]
    assert VALUES["concurrency"]["enabled"]
    assert INSTANCE["concurrency"] == {
        "pools": {"default_limit": pools["defaultLimit"], "granularity": pools["granularity"]},
        "runs": {"max_concurrent_runs": runs["maxConcurrentRuns"]}}
    assert INSTANCE["compute_logs"]["class"] == VALUES["computeLogManager"]["type"]
    assert INSTANCE["telemetry"] == VALUES["telemetry"]


def test_the_same_pools_retries_and_monitoring_as_the_local_instance() -> None:
    assert INSTANCE["concurrency"] == LOCAL_INSTANCE["concurrency"]
    assert INSTANCE["run_retries"] == LOCAL_INSTANCE["run_retries"]
    local_monitoring = LOCAL_INSTANCE["run_monitoring"]
    assert INSTANCE["run_monitoring"] == {key: local_monitoring[key] for key in INSTANCE["run_monitoring"]}
    assert local_monitoring["max_resume_run_attempts"] == 0  # Dagster's default, left unsaid on Kubernetes
    assert INSTANCE["run_coordinator"]["class"] == LOCAL_INSTANCE["run_coordinator"]["class"]
    assert INSTANCE["telemetry"] == LOCAL_INSTANCE["telemetry"]


def test_dagsters_storage_reads_the_schema_the_migrate_job_builds_over_verified_tls() -> None:
    """The URL dagster-postgres makes of the storage config: psycopg2, search_path on the schema
    that prepare_storage builds whole, and TLS the product itself would accept."""
    database = dict(INSTANCE["run_storage"]["config"]["postgres_db"], password="secret")
    url = pg_url_from_config({"postgres_db": database})
    parsed = make_url(url)
    assert parsed.drivername == "postgresql+psycopg2"
    assert parsed.query["options"] == f"-csearch_path={SCHEMA}"
    assert parsed.query["sslmode"] == "verify-full"
    assert parsed.host == VALUES["postgresql"]["postgresqlHost"]
    assert not unverified_remote(url, {})
