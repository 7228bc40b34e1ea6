"""Runs whose process died are marked failed, not left STARTED for ever.

Dagster's run monitoring can only ask a run launcher whether a run's worker is alive, and the
default launcher (local processes: `make ui`), like `make run`'s in-process runs, cannot answer.
A run left STARTED by a killed process would hold its vendor's pool, so every later run of
that vendor would queue behind it for ever. So each run records the process executing it
(host, pid and the process's start time, which a recycled pid does not share) as a tag, and
`fail_dead_runs` marks failed every in-progress run of this host whose process is gone: at
every `make run` / `make ui` start, and every minute from a sensor while the daemon runs.
Runs of another host are left to that host."""

import socket

import psutil
from dagster import (
    DagsterInstance,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunsFilter,
    SensorEvaluationContext,
    SkipReason,
    sensor,
)

WORKER_TAG = "pipelines/worker"
# NOT_STARTED too: `make run` creates its run, then starts it, in one process.
_IN_PROGRESS = [DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.STARTED,
                DagsterRunStatus.CANCELING]


def worker_tag() -> dict[str, str]:
    """The tag naming this process as the one executing a run."""
    me = psutil.Process()
    return {WORKER_TAG: f"{socket.gethostname()}:{me.pid}:{me.create_time():.3f}"}


def record_worker(instance: DagsterInstance, run_id: str) -> None:
    """Tag the run with the process executing it (a run launched by the daemon learns its
    process only once it runs)."""
    instance.add_run_tags(run_id, worker_tag())


def _is_alive(tag: str) -> bool | None:
    """Whether the process a worker tag names still runs; None if it is another host's."""
    host, _, rest = tag.partition(":")
    pid, _, started = rest.partition(":")
    if host != socket.gethostname():
        return None
    try:
        return abs(psutil.Process(int(pid)).create_time() - float(started)) < 0.01
    except (psutil.NoSuchProcess, ValueError):
        return False


def fail_dead_runs(instance: DagsterInstance) -> list[str]:
    """Mark failed every in-progress run whose recorded process has died; their ids."""
    failed = []
    for record in instance.get_run_records(filters=RunsFilter(statuses=_IN_PROGRESS)):
        run = record.dagster_run
        tag = run.tags.get(WORKER_TAG)
        if tag and _is_alive(tag) is False:
            instance.report_run_failed(
                run, "The process executing this run died (killed or crashed) before the run "
                     "ended; its loads are transactional, so re-running it is safe.")
            failed.append(run.run_id)
    return failed


@sensor(name="fail_dead_runs", minimum_interval_seconds=60, default_status=DefaultSensorStatus.RUNNING,
        description="Marks failed the runs whose process died, so they release their vendor's pool.")
def dead_run_sensor(context: SensorEvaluationContext) -> SkipReason:
    failed = fail_dead_runs(context.instance)
    return SkipReason(f"marked {len(failed)} dead run(s) failed" if failed else "no dead runs")
