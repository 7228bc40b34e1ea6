"""The split a deployment runs, proven on one machine: the code location in `dagster
code-server`, the daemon and the webserver apart (local_stack/topology.py), and every run a
process of its own that the queue launches through the code server. Webex shard runs and a
mGage backfill are launched at once through GraphQL; each vendor's pool must hold its runs to
one at a time while the two vendors load side by side, and the warehouse must hold exactly
what the sandbox serves. Runs this small take a second or two, so the first mGage day's commit
is held until a Webex run runs beside it: the overlap is the queue's doing, not luck.

Dagster's processes keep the real clock, as in the UI test, and so does the sandbox they read
(a process of this test's own): gRPC dates its deadlines by the Python clock and its C core
checks them against the real one, so under a clock pinned in the past every call between the
services fails at once. This test reads no clock itself: the days it backfills and the shards
it loads are the code location's own partitions, and what it expects of Webex follows from
each key's watermark as the runs recorded it. The times it compares are those the run workers
recorded, on the one clock they share."""

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import psycopg
import pytest
from dagster import DagsterInstance, RunsFilter
from tabulate import tabulate

from local_stack.launcher import LocalStack
from local_stack.topology import LOCATION_NAME, Topology, topology
from pipelines.orchestration.run_workers import WORKER_TAG
from pipelines.paths import PROJECT_ROOT
from pipelines.sources import registry
from pipelines.warehouse.urls import libpq_url
from sandbox.process import sandbox_process
from sandbox.vendors import pipeline_environment
from tests.conftest import TEST_SANDBOX
from tests.integration.test_mgage_assets import expected_messages
from tests.integration.test_webex_assets import INITIAL_DAYS, KEYS, held

pytestmark = pytest.mark.slow

ARTIFACTS = PROJECT_ROOT / "test-artifacts"
REPOSITORY = {"repositoryLocationName": LOCATION_NAME, "repositoryName": "__repository__"}
# Three of each: enough for each pool to hold runs back, few enough to keep the test short.
WEBEX_SHARDS = 3
BACKFILL_DAYS = 3
# The code location's executor runs each job in the run's own process (pipelines/definitions.py):
# no run config needed for it.
NO_RUN_CONFIG: dict[str, object] = {}
# Where the default run launcher records the code server it asked to start the run.
GRPC_INFO_TAG = ".dagster/grpc_info"
FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}

LAUNCH_RUN = """
mutation Launch($params: ExecutionParams!) { launchRun(executionParams: $params) {
  __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message }
  ... on RunConfigValidationInvalid { errors { message } } } }"""
LAUNCH_BACKFILL = """
mutation Backfill($params: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $params) {
  __typename ... on LaunchBackfillSuccess { launchedRunIds } ... on PythonError { message }
  ... on PartitionSetNotFoundError { message } } }"""
PARTITION_KEYS = """
query Keys($selector: PipelineSelector!, $limit: Int) { pipelineOrError(params: $selector) {
  ... on Pipeline { partitionKeysOrError(reverse: true, limit: $limit) { partitionKeys } } } }"""
RUNS = """
query Runs($ids: [String!]) { runsOrError(filter: {runIds: $ids}) { ... on Runs { results {
  runId jobName status startTime endTime allPools } } } }"""
EVENTS = """
query Events($runId: ID!) { logsForRun(runId: $runId) { ... on EventConnection { events {
  __typename ... on MessageEvent { message } ... on ErrorEvent { error { message } }
  ... on EngineEvent { metadataEntries { label ... on TextMetadataEntry { text } } } } } } }"""
# The engine event with which the process executing a run announces itself (dagster's own).
RUN_PROCESS_STARTED = "Started process for run"


@dataclass(frozen=True)
class RunRow:
    """A finished run as Dagster recorded it."""

    run_id: str
    job: str
    partition: str
    pools: tuple[str, ...]  # as the queue saw them
    start: float
    end: float
    run_pid: int  # the process that executed it, as Dagster recorded it
    worker_pid: int  # the process the product's worker tag names (pipelines/worker)
    code_server_port: int  # the code server the launcher asked to start it

    def overlaps(self, other: "RunRow") -> bool:
        return self.start < other.end and other.start < self.end


@pytest.fixture
def split(stack: LocalStack, warehouse: psycopg.Connection) -> Iterator[Topology]:
    """The topology on the test's warehouse (emptied) and instance database, every source on a
    sandbox of its own that keeps the real clock, as Dagster's processes do."""
    with sandbox_process(TEST_SANDBOX) as sandbox:
        environment = dict(os.environ) | {"WEBEX_SHARDS": str(WEBEX_SHARDS)}
        for source in registry():
            environment |= pipeline_environment(source.name, sandbox.url, TEST_SANDBOX) or {}
        with topology(environment) as running:
            yield running


def partition_keys(split: Topology, job: str, latest: int | None = None) -> list[str]:
    """The job's partitions as the code location has them (its latest `latest`), in order."""
    found = split.graphql(PARTITION_KEYS, {"selector": REPOSITORY | {"pipelineName": job}, "limit": latest})
    return sorted(found["pipelineOrError"]["partitionKeysOrError"]["partitionKeys"])


def launch_run(split: Topology, job: str, partition: str | None = None) -> str:
    tags = [{"key": "dagster/partition", "value": partition}] if partition else []
    launched = split.graphql(LAUNCH_RUN, {"params": {
        "selector": REPOSITORY | {"jobName": job}, "executionMetadata": {"tags": tags},
        "runConfigData": NO_RUN_CONFIG}})["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    return str(launched["run"]["runId"])


def launch_backfill(split: Topology, job: str, partitions: list[str]) -> list[str]:
    """A backfill of `job`'s partitions, a run each, queued at once (left to the backfill
    daemon, they would be queued at its next tick, up to 30 s later)."""
    launched = split.graphql(LAUNCH_BACKFILL, {"params": {
        "selector": {"partitionSetName": f"{job}_partition_set", "repositorySelector": REPOSITORY},
        "partitionNames": partitions, "runConfigData": NO_RUN_CONFIG,
        "forceSynchronousSubmission": True}})["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    return list(launched["launchedRunIds"])


def wait_until_side_by_side(split: Topology, run_ids: list[str], timeout_s: float = 120) -> None:
    """Until a mGage run and a Webex run are in progress at the same moment."""
    deadline = time.monotonic() + timeout_s
    while True:
        runs = split.graphql(RUNS, {"ids": run_ids})["runsOrError"]["results"]
        running = {pool for run in runs if run["status"] == "STARTED" for pool in run["allPools"] or ()}
        if {"mgage", "webex"} <= running:
            return
        assert time.monotonic() < deadline, [(run["jobName"], run["status"]) for run in runs]
        time.sleep(0.25)


def wait_for(split: Topology, run_ids: list[str], timeout_s: float = 300) -> list[dict]:
    """The runs once all have finished, as GraphQL reports them."""
    deadline = time.monotonic() + timeout_s
    while True:
        runs = split.graphql(RUNS, {"ids": run_ids})["runsOrError"]["results"]
        if len(runs) == len(run_ids) and all(run["status"] in FINISHED for run in runs):
            return list(runs)
        assert time.monotonic() < deadline, [(run["jobName"], run["status"]) for run in runs]
        time.sleep(0.5)


def run_events(split: Topology, run_id: str) -> list[dict]:
    return list(split.graphql(EVENTS, {"runId": run_id})["logsForRun"]["events"])


def errors(split: Topology, run_id: str) -> list[str]:
    """What went wrong in a run, from its event log: shown when a run did not succeed."""
    return [event["error"]["message"] if event.get("error") else event["message"]
            for event in run_events(split, run_id)
            if event.get("error") or event["__typename"] == "RunFailureEvent"]


def run_pid(split: Topology, run_id: str) -> int:
    """The pid of the process that executed the run, from its event log."""
    [pid] = [int(entry["text"]) for event in run_events(split, run_id)
             if event["__typename"] == "EngineEvent" and event["message"].startswith(RUN_PROCESS_STARTED)
             for entry in event["metadataEntries"] if entry["label"] == "pid"]
    return pid


def read_back(split: Topology, runs: list[dict]) -> list[RunRow]:
    """Each run with its pools and times (GraphQL), and the process and code server that
    executed it (tags the UI hides, read from the instance), in the order they started."""
    with DagsterInstance.get() as instance:
        tags = {record.dagster_run.run_id: record.dagster_run.tags for record in
                instance.get_run_records(RunsFilter(run_ids=[run["runId"] for run in runs]))}
    rows = []
    for run in runs:
        run_tags = tags[run["runId"]]
        _host, pid, _started = run_tags[WORKER_TAG].split(":")
        rows.append(RunRow(
            run_id=run["runId"], job=run["jobName"], partition=run_tags.get("dagster/partition", ""),
            pools=tuple(sorted(run["allPools"] or ())), start=run["startTime"],
            end=run["endTime"], run_pid=run_pid(split, run["runId"]), worker_pid=int(pid),
            code_server_port=json.loads(run_tags[GRPC_INFO_TAG])["port"]))
    return sorted(rows, key=lambda row: row.start)


def events_by_run(conn: psycopg.Connection) -> dict[str, int]:
    """The events each run loaded: a mGage run its day's, a Webex run its keys'."""
    mgage = conn.execute("""
        SELECT l.run_id, count(e.*) FROM ops.partition_loads AS l
        JOIN core.message_events AS e ON e.source = l.source AND e.partition_date = l.partition_date
        WHERE l.source = 'mgage' GROUP BY l.run_id""").fetchall()
    webex = conn.execute("""
        SELECT k.run_id, count(e.*) FROM ops.webex_keys AS k
        JOIN raw.webex_transactions AS r ON r.context->>'key' = k.key
        JOIN core.message_events AS e ON e.event_id = r.record_id
        WHERE k.run_id IS NOT NULL GROUP BY k.run_id""").fetchall()
    return dict(mgage + webex)


def run_table(rows: list[RunRow], events: dict[str, int]) -> str:
    """The runs in the order they started, seconds from the first start, with the runs each
    overlapped and the events each loaded."""
    origin = min(row.start for row in rows)
    short = {row.run_id: row.run_id[:8] for row in rows}
    return tabulate(
        [(short[row.run_id], row.job, row.partition, ",".join(row.pools), row.run_pid,
          f"{row.start - origin:.1f}", f"{row.end - origin:.1f}",
          " ".join(short[other.run_id] for other in rows if other is not row and row.overlaps(other)) or "-",
          events.get(row.run_id, 0))
         for row in rows],
        headers=["run", "job", "partition", "pool", "pid", "start s", "end s", "overlaps", "events"])


def webex_held(conn: psycopg.Connection) -> dict[str, set[str]]:
    """Per followed key, the transaction ids the sandbox holds for its first load: the
    INITIAL_DAYS tenant-local days up to its watermark."""
    watermarks: dict[str, date] = dict(conn.execute(
        "SELECT key, loaded_through FROM ops.webex_keys WHERE loaded_through IS NOT NULL").fetchall())
    return {key: set(held(key, last - timedelta(days=INITIAL_DAYS - 1), last)[0])
            for key, last in watermarks.items()}


def test_shard_runs_and_a_backfill_run_apart_within_their_pools_and_load_exactly(
        stack: LocalStack, split: Topology, warehouse: psycopg.Connection) -> None:
    services = split.service_pids()  # before any run: the services and their code server's child
    # Whom Webex follows first, as `make run` orders it (nothing loaded yet: the configured keys).
    [keys_run] = wait_for(split, [launch_run(split, "webex_keys")])
    assert keys_run["status"] == "SUCCESS", errors(split, keys_run["runId"])
    assert {key for (key,) in warehouse.execute("SELECT key FROM ops.webex_keys")} == set(KEYS)

    # The days before today (still filling), and every shard, as the code location has them.
    days = partition_keys(split, "mgage_daily", latest=BACKFILL_DAYS + 1)[:-1]
    shards = partition_keys(split, "webex_incremental")
    assert len(shards) == WEBEX_SHARDS  # the code server read WEBEX_SHARDS from its environment
    # A mGage day commits its rows with its ops.partition_loads row: holding that table keeps the
    # first mGage run from ending until a Webex run runs beside it, however fast either is. A
    # queue that ran one vendor at a time would never start the Webex run (and time out here).
    with psycopg.connect(libpq_url(stack.migration_url)) as gate:
        gate.execute("LOCK TABLE ops.partition_loads IN EXCLUSIVE MODE")
        launched = launch_backfill(split, "mgage_daily", days)
        launched += [launch_run(split, "webex_incremental", shard) for shard in shards]
        wait_until_side_by_side(split, launched)
        gate.rollback()
    runs = wait_for(split, launched)
    assert [run["status"] for run in runs] == ["SUCCESS"] * len(runs), {
        (run["jobName"], run["runId"]): errors(split, run["runId"]) for run in runs if run["status"] != "SUCCESS"}
    rows = read_back(split, runs)
    events = events_by_run(warehouse)
    table = run_table(rows, events)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "topology-runs.txt").write_text(table + "\n")
    print(f"\n{table}")

    assert sorted((row.job, row.partition, row.pools) for row in rows) == sorted(
        [("mgage_daily", day, ("mgage",)) for day in days]
        + [("webex_incremental", shard, ("webex",)) for shard in shards])
    # Each vendor's pool admitted one run at a time, and the two vendors loaded side by side.
    for row in rows:
        assert not [other for other in rows if other is not row and other.pools == row.pools
                    and row.overlaps(other)], table
    assert any(mgage.overlaps(webex) for mgage in rows if mgage.pools == ("mgage",)
               for webex in rows if webex.pools == ("webex",)), table
    # Each run was a process of its own, started through the topology's code server, none was
    # a service of the topology, and each is the process the product records for its dead-run
    # sensor.
    pids = {row.run_pid for row in rows}
    assert len(pids) == len(rows)
    assert not pids & (services | {os.getpid()})
    assert {row.code_server_port for row in rows} == {split.code_server_port}
    assert [row.worker_pid for row in rows] == [row.run_pid for row in rows]

    # Exactly what the sandbox serves: every day of the backfill whole, and every followed key's
    # transactions, each key pulled by the run of its own shard.
    by_day = dict(warehouse.execute("SELECT partition_date::text, count(*) FROM core.message_events "
                                    "WHERE source = 'mgage' GROUP BY 1").fetchall())
    assert by_day == {day: expected_messages(date.fromisoformat(day)) for day in days}
    expected = webex_held(warehouse)
    assert expected.keys() == set(KEYS)
    landed: dict[str, set[str]] = {key: set() for key in expected}
    for key, transaction_id in warehouse.execute(
            "SELECT context->>'key', payload->>'transaction-id' FROM raw.webex_transactions"):
        landed[key].add(transaction_id)
    assert landed == expected
    shard_of = {row.run_id: row.partition for row in rows}
    for key, shard_hash, run_id in warehouse.execute("SELECT key, shard_hash, run_id FROM ops.webex_keys"):
        assert shard_of[run_id] == str(shard_hash % WEBEX_SHARDS), key
    assert sum(events.values()) == sum(by_day.values()) + sum(map(len, expected.values())) == warehouse.execute(
        "SELECT count(*) FROM core.message_events").fetchone()[0]
