"""Dagster's own storage: built whole or not at all, whatever instant a kill strikes; and runs
whose process died are marked failed instead of holding their vendor's pool for ever."""

import signal
import subprocess
import sys
import uuid

import psycopg
import pytest
from dagster import DagsterInstance, DagsterRun, DagsterRunStatus
from psycopg import sql
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url

from local_stack.launcher import LocalStack
from pipelines.orchestration.dagster_storage import SCHEMA, prepare_storage
from pipelines.orchestration.run_workers import WORKER_TAG, fail_dead_runs, worker_tag
from pipelines.paths import PROJECT_ROOT
from pipelines.warehouse.urls import libpq_url

# The builder SIGKILLs itself right after its N-th CREATE statement: kill points at exact
# steps of the build, whatever the machine's speed.
BUILDER = """
import os, signal, sys
from sqlalchemy import event
from sqlalchemy.engine import Engine
from pipelines.orchestration.dagster_storage import prepare_storage

kill_after, created = int(sys.argv[2]), 0

@event.listens_for(Engine, "after_cursor_execute")
def count(conn, cursor, statement, *args):
    global created
    if statement.lstrip().upper().startswith("CREATE"):
        created += 1
        if created == kill_after:
            os.kill(os.getpid(), signal.SIGKILL)

prepare_storage(sys.argv[1])
"""


def new_database(stack: LocalStack, name: str) -> str:
    assert stack.admin_url is not None
    with psycopg.connect(libpq_url(stack.admin_url), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return make_url(stack.admin_url).set(database=name).render_as_string(hide_password=False)


def layout(url: str) -> tuple[list[tuple], list[tuple]]:
    """Dagster's tables with their columns, and the alembic revision stamped."""
    with psycopg.connect(libpq_url(url)) as conn:
        columns = conn.execute("SELECT table_name, column_name FROM information_schema.columns "
                               "WHERE table_schema = %s ORDER BY 1, 2", (SCHEMA,)).fetchall()
        stamp = conn.execute(sql.SQL("SELECT * FROM {}.alembic_version").format(
            sql.Identifier(SCHEMA))).fetchall()
    return columns, stamp


def creates_in_a_build(url: str) -> int:
    created = 0

    def count(conn, cursor, statement, *args) -> None:
        nonlocal created
        created += statement.lstrip().upper().startswith("CREATE")

    event.listen(Engine, "after_cursor_execute", count)
    try:
        assert prepare_storage(url)
    finally:
        event.remove(Engine, "after_cursor_execute", count)
    return created


@pytest.mark.slow
def test_a_build_killed_at_any_step_leaves_nothing_or_a_whole_storage(stack: LocalStack) -> None:
    reference = new_database(stack, "dagster_reference")
    steps = creates_in_a_build(reference)
    assert not prepare_storage(reference)  # built once
    expected = layout(reference)
    assert {table for table, _ in expected[0]} >= {"runs", "run_tags", "event_logs", "jobs"}

    for kill_after in sorted({1, 2, 3, steps // 4, steps // 2, 3 * steps // 4, steps - 1, steps}):
        url = new_database(stack, f"dagster_killed_{kill_after}")
        builder = subprocess.run([sys.executable, "-c", BUILDER, url, str(kill_after)],
                                 cwd=PROJECT_ROOT, check=False)
        assert builder.returncode == -signal.SIGKILL
        prepare_storage(url)  # the next start
        assert layout(url) == expected, f"killed after CREATE statement {kill_after} of {steps}"


def test_runs_whose_process_died_are_marked_failed_and_no_other() -> None:
    with DagsterInstance.ephemeral() as instance:
        def started(tags: dict[str, str]) -> str:
            run_id = str(uuid.uuid4())
            instance.add_run(DagsterRun(job_name="mgage_daily", run_id=run_id,
                                        status=DagsterRunStatus.STARTED, tags=tags))
            return run_id

        mine = worker_tag()[WORKER_TAG]
        host, pid, _ = mine.split(":")
        alive = started(worker_tag())
        dead = started({WORKER_TAG: f"{host}:{pid}:1.000"})  # this pid, but another process's
        elsewhere = started({WORKER_TAG: f"another-host:{pid}:1.000"})
        untagged = started({})

        assert fail_dead_runs(instance) == [dead]
        status = {run_id: instance.get_run_by_id(run_id).status
                  for run_id in (alive, dead, elsewhere, untagged)}
    assert status == {alive: DagsterRunStatus.STARTED, dead: DagsterRunStatus.FAILURE,
                      elsewhere: DagsterRunStatus.STARTED, untagged: DagsterRunStatus.STARTED}
