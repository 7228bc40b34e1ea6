"""The code location as the data team meets it: it loads, every asset explains itself, the
schedules ask for the right runs, and the marts follow."""

import json
import subprocess
import sys
from datetime import UTC, datetime

import psycopg
import pytest
from dagster import AssetKey, DagsterInstance, Definitions, PartitionKeyRange, build_schedule_context

from local_stack.launcher import LocalStack
from pipelines.definitions import defs
from pipelines.model import clock
from pipelines.paths import PROJECT_ROOT
from tests.support import materialization_metadata, run_job

SNAPSHOT = PROJECT_ROOT / "tests" / "snapshots" / "definitions.json"

SOURCE_ASSETS = [AssetKey([source, name]) for source, name in (
    ("mgage", "raw_messages"), ("mgage", "message_events"),
    ("senderguide", "raw_interactions"), ("senderguide", "message_events"),
    ("cinnox", "raw_campaign_recipients"), ("cinnox", "message_events"),
    ("webex", "raw_transactions"), ("webex", "message_events"))]


def test_the_definitions_load_and_the_workspace_validates(stack: LocalStack) -> None:
    Definitions.validate_loadable(defs)
    validation = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert validation.returncode == 0, validation.stdout + validation.stderr


def test_every_source_asset_explains_itself() -> None:
    graph = defs.resolve_asset_graph()
    for key in SOURCE_ASSETS:
        node = graph.get(key)
        assert node.description and node.owners == ["team:data-engineering"], key
        assert node.group_name == key.path[0] and node.kinds, key
        assert node.metadata["dagster/column_schema"].columns, key
        assert node.metadata["dagster/table_name"].startswith(("raw.", "core.")), key
        assert node.freshness_policy is not None, key
        assert graph.get_check_keys_for_assets({key}) or key.path[1].startswith("raw"), key


def test_the_marts_follow_every_source() -> None:
    graph = defs.resolve_asset_graph()
    for name in ("daily_events", "campaign_performance", "recipient_message_status"):
        node = graph.get(AssetKey(["marts", name]))
        sources = ("mgage", "senderguide", "cinnox", "webex")
        assert {AssetKey([s, "message_events"]) for s in sources} <= set(node.parent_keys)
        assert node.automation_condition is not None and node.group_name == "marts"
    sensor = defs.get_repository_def().get_sensor_def("marts_follow_sources")
    assert sensor.default_status.value == "RUNNING"  # follows without anyone turning it on


def test_schedules_ask_for_today_and_for_the_lookback_as_one_run() -> None:
    at = datetime(2026, 11, 20, 2, 45, tzinfo=UTC)
    repository = defs.get_repository_def()

    def tick(name: str):
        context = build_schedule_context(scheduled_execution_time=at, repository_def=repository)
        [request] = repository.get_schedule_def(name).evaluate_tick(context).run_requests
        return request

    assert tick("cinnox_daily_today").partition_key == "2026-11-20"
    request = tick("cinnox_daily_lookback_7d")
    assert request.partition_key_range == PartitionKeyRange("2026-11-14", "2026-11-20")
    assert all(schedule.default_status.value == "STOPPED" for schedule in defs.schedules)


@pytest.mark.day_sensitive
def test_the_marts_materialize_with_their_sizes(warehouse: psycopg.Connection) -> None:
    assert run_job("mgage_daily", clock.today().isoformat()).success
    result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
        asset_selection=[AssetKey(["marts", "campaign_performance"]), AssetKey(["marts", "daily_events"])],
        instance=DagsterInstance.ephemeral())
    assert result.success
    meta = materialization_metadata(result, "marts", AssetKey(["marts", "campaign_performance"]))
    campaigns = warehouse.execute("SELECT count(*) FROM marts.campaign_performance").fetchone()[0]
    assert meta["campaigns"] == campaigns > 0


def test_the_webex_request_budget_is_bound_to_the_environment(stack: LocalStack) -> None:
    budget = defs.resources["webex"].max_requests_per_second
    assert getattr(budget, "env_var_name", None) == "WEBEX_MAX_REQUESTS_PER_SECOND"
    assert stack.environment["WEBEX_MAX_REQUESTS_PER_SECOND"] == "0"  # none against the sandbox


def definitions_snapshot() -> dict:
    """The wiring of the code location as reviewers should see it change."""
    graph = defs.resolve_asset_graph()
    return {
        "assets": sorted("/".join(key.path) for key in graph.get_all_asset_keys()),
        "checks": sorted(f"{'/'.join(check.asset_key.path)}:{check.name}"
                         for check in graph.asset_check_keys),
        "jobs": sorted(job.name for job in defs.jobs),
        "schedules": {schedule.name: schedule.cron_schedule for schedule in defs.schedules},
        "sensors": sorted(sensor.name for sensor in defs.sensors),
        "pools": {asset.node_def.name: asset.node_def.pool for asset in defs.assets},
    }


def test_the_wiring_matches_its_snapshot() -> None:
    """Asset keys, checks, jobs, schedules with their cron, sensors and pools: a change to any
    shows up in review as a change to tests/snapshots/definitions.json."""
    expected = json.loads(SNAPSHOT.read_text())
    assert definitions_snapshot() == expected, (
        f"the Definitions changed; if that is intended, write the new wiring to {SNAPSHOT}: "
        f"{json.dumps(definitions_snapshot(), indent=1)}")
