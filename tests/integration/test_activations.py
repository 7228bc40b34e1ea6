"""Activations against the sandbox's event API and the embedded warehouse: the audience is
written to the outbox before anything is sent, each due key is sent once, rejects are kept with
their reason, the vendor's answers are read by their code, and an answer that was lost is
settled from the key's transactions, never by sending again."""

import dataclasses
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
import time_machine
from dagster import AssetKey

from pipelines.model import clock
from pipelines.model.kill_points import VARIABLE
from pipelines.paths import PROJECT_ROOT
from pipelines.sources.webex.activations import (
    Activation,
    ActivationSettings,
    load_activations,
    run_activation,
)
from pipelines.sources.webex.client import WebexClient
from pipelines.sources.webex.events import AccessRefused
from pipelines.transport.http import RetryPolicy
from pipelines.warehouse.urls import libpq_url
from sandbox.config import SandboxConfig
from sandbox.server import SandboxApp, serve_in_thread
from tests.conftest import TEST_SANDBOX
from tests.instants import pinned_environment
from tests.support import days_ago, materialization_metadata, run_job, run_webex

EXAMPLE = "sms_failure_fallback"

OUTBOX = """SELECT event_key, state, error_code, attempts, transaction_id, settled_by
            FROM ops.activation_outbox WHERE activation = %s ORDER BY outbox_id"""


@pytest.fixture
def vendor(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, SandboxApp]]:
    """A Webex sandbox of the test's own (its received events are the test's alone)."""
    with serve_in_thread(TEST_SANDBOX) as (url, app):
        monkeypatch.setenv("WEBEX_BASE_URL", url)
        yield url, app


def scripted(script: dict[str, list[str]]) -> SandboxConfig:
    """The test sandbox answering each key's events as `script` says; the test activation's
    event is processed by deployment 990500."""
    webex = dataclasses.replace(TEST_SANDBOX.webex, event_script=script,
                                event_deployments={"evt_test": "990500"})
    return dataclasses.replace(TEST_SANDBOX, webex=webex)


def client(url: str, **overrides: object) -> WebexClient:
    settings = {"base_url": url, "api_key": TEST_SANDBOX.webex.api_key,
                "timezone": TEST_SANDBOX.webex.timezone, "data_origin": "sandbox",
                "max_requests_per_second": 0} | overrides
    return WebexClient(**settings)


def activation(tmp_path: Path, sql: str, **settings: object) -> Activation:
    """An activation of the test's own over `sql` (parameters: %(now)s, %(sandbox)s)."""
    path = tmp_path / "test_activation.sql"
    path.write_text(sql)
    values = {"description": "a test's", "event_id": "evt_test", "resend_after_days": 7} | settings
    return Activation("test_activation", ActivationSettings.model_validate(values), path)


# Retries as the product makes them, without the waits.
FAST = RetryPolicy(max_attempts=6, initial_backoff_s=0.001, max_backoff_s=0.002, retry_after_cap_s=0.01)


def run(stack_url: str, target: Activation, webex: WebexClient, *, dry_run: bool = False, run_id: str = "run-1"):
    with psycopg.connect(libpq_url(stack_url)) as conn, psycopg.connect(libpq_url(stack_url)) as reader:
        return run_activation(target, conn=conn, reader=reader, client=webex, default_region="US",
                              run_id=run_id, dry_run=dry_run, retry=FAST)


def received(app: SandboxApp) -> Counter[str]:
    """How many events the vendor received per key."""
    return Counter(event.event_key for event in app.webex_events())


KEYS = "SELECT k AS event_key, 'Asha' AS first_name FROM unnest(ARRAY['6591234567', '+919812345670', " \
       "'Rohan.Mehta@Example.com']) AS k"


def test_the_example_activation_sends_each_due_key_once_and_a_rerun_sends_nothing(
        warehouse: psycopg.Connection, vendor: tuple[str, SandboxApp]) -> None:
    _, app = vendor
    for day in (days_ago(1), days_ago(0)):
        assert run_job("mgage_daily", partition_key=day.isoformat()).success
        assert run_job("cinnox_daily", partition_key=day.isoformat()).success
    failed = warehouse.execute("""SELECT count(DISTINCT recipient) FROM core.message_events
                                  WHERE channel = 'sms' AND event_type IN ('failed', 'undelivered')
                                    AND direction = 'outbound' AND occurred_at <= %s""",
                               (clock.now(),)).fetchone()[0]
    assert failed > 0  # the sandbox's data holds an audience

    [example] = [a for a in load_activations() if a.name == EXAMPLE]
    node = "webex__activations__" + EXAMPLE
    dry = run_job(example.job_name)  # by hand: a dry run
    assert dry.success
    metadata = materialization_metadata(dry, node, example.asset_key)
    assert (metadata["dry_run"], metadata["audience"], metadata["due"], metadata["sent"]) == (True, failed, failed, 0)
    assert received(app) == Counter()
    assert warehouse.execute("SELECT count(*) FROM ops.activation_outbox").fetchone()[0] == 0

    sends = {"ops": {node: {"config": {"dry_run": False}}}}
    first = run_job(example.job_name, run_config=sends)
    assert first.success
    metadata = materialization_metadata(first, node, example.asset_key)
    assert (metadata["sent"], metadata["rejected"], metadata["failed"], metadata["in_doubt"]) == (failed, 0, 0, 0)
    counts = received(app)
    assert len(counts) == failed and set(counts.values()) == {1}
    assert all(event.event_id == "evt_sms_failure_fallback" and set(event.params) ==
               {"failed_messages", "last_failure_at", "last_campaign"} for event in app.webex_events())
    rows = warehouse.execute(OUTBOX, (EXAMPLE,)).fetchall()
    assert {row[1] for row in rows} == {"sent"}
    assert {row[4] for row in rows} == {event.transaction_id for event in app.webex_events()}
    # Keys never leave the warehouse in clear: the preview holds pseudonyms.
    assert "+" not in metadata["preview"] and "pii:" in metadata["preview"]
    checks = {check.check_name: check.passed for check in first.get_asset_check_evaluations()}
    assert checks == {"no_key_sent_twice_in_window": True, "rejects_by_reason": True}

    again = run_job(example.job_name, run_config=sends)
    metadata = materialization_metadata(again, node, example.asset_key)
    assert (metadata["sent"], metadata["due"], metadata["skipped_already_sent"]) == (0, 0, failed)
    assert received(app) == counts

    # The results mart: the keys sent, and what the vendor then reported of them.
    assert run_job("webex_keys").success
    assert run_webex().success
    [(sent, accepted, processed, delivered)] = warehouse.execute(
        "SELECT sent, accepted, processed, delivered FROM marts.activation_results WHERE activation = %s",
        (EXAMPLE,)).fetchall()
    assert sent == accepted == processed == failed
    assert 0 < delivered <= sent


def test_rejected_rows_are_kept_with_their_reason_and_the_others_go(
        stack, warehouse: psycopg.Connection, vendor: tuple[str, SandboxApp], tmp_path: Path) -> None:
    url, app = vendor
    sql = """
        SELECT '6591234567' AS event_key, jsonb_build_object('first_name', 'Asha') AS event_params
        UNION ALL SELECT '+919812345670', jsonb_build_object('first_name', NULL)
        UNION ALL SELECT 'asha.kulkarni@example.in', jsonb_build_object('first_name', 'null')
        UNION ALL SELECT '12', jsonb_build_object('first_name', 'Rohan')
        UNION ALL SELECT NULL, jsonb_build_object('first_name', 'Rohan')
        UNION ALL SELECT '447700900123', (SELECT jsonb_object_agg('p' || n, 'v')
                                          FROM generate_series(1, 401) AS n)
        UNION ALL SELECT 'big@example.com', jsonb_build_object('story', repeat('x', 25000))
        UNION ALL SELECT 'Rohan.Mehta@Example.com', jsonb_build_object('first_name', 'Rohan')"""
    report = run(stack.warehouse_url, activation(tmp_path, sql), client(url))
    assert report.rejects_by_reason() == {"null_param": 2, "invalid_key": 1, "missing_key": 1,
                                          "too_many_params": 1, "payload_too_large": 1}
    assert received(app) == Counter({"6591234567": 1, "rohan.mehta@example.com": 1})
    states = Counter(row[1] for row in warehouse.execute(OUTBOX, ("test_activation",)))
    assert states == Counter({"rejected": 6, "sent": 2})
    # The same data refused again tells nothing new: a re-run adds no row.
    run(stack.warehouse_url, activation(tmp_path, sql), client(url), run_id="run-2")
    assert warehouse.execute("SELECT count(*) FROM ops.activation_outbox").fetchone()[0] == 8


def test_the_vendors_answers_are_read_by_their_code(
        stack, warehouse: psycopg.Connection, tmp_path: Path) -> None:
    script = {"6591234567": ["1003"], "919812345670": ["429", "500", "accept"],
              "rohan.mehta@example.com": ["499"] * 10}
    with serve_in_thread(scripted(script)) as (url, app):
        webex = client(url)
        report = run(stack.warehouse_url, activation(tmp_path, KEYS), webex)
        outcomes = report.outcomes
        assert (outcomes["sent"], outcomes["failed"], outcomes["pending"]) == (1, 1, 1)
        rows = {row[0]: row for row in warehouse.execute(OUTBOX, ("test_activation",))}
        assert rows["+6591234567"][1:3] == ("failed", "1003")  # final: never sent again
        assert rows["+919812345670"][1] == "sent"  # retried by the HTTP layer within the run
        assert rows["rohan.mehta@example.com"][1:3] == ("pending", "499")  # due again
        # The next run sends what was deferred, and only that.
        run(stack.warehouse_url, activation(tmp_path, KEYS), webex, run_id="run-2")
        assert received(app) == Counter({"919812345670": 1, "rohan.mehta@example.com": 1})


def test_refused_credentials_stop_the_run_and_keep_the_events_due(
        stack, warehouse: psycopg.Connection, vendor: tuple[str, SandboxApp], tmp_path: Path) -> None:
    url, app = vendor
    with pytest.raises(AccessRefused):
        run(stack.warehouse_url, activation(tmp_path, KEYS), client(url, api_key="wrong-key"))
    states = Counter(row[1] for row in warehouse.execute(OUTBOX, ("test_activation",)))
    assert states == Counter({"pending": 3})
    run(stack.warehouse_url, activation(tmp_path, KEYS), client(url), run_id="run-2")
    assert sorted(received(app).values()) == [1, 1, 1]


def test_a_lost_answer_is_settled_from_the_keys_transactions_never_sent_again(
        stack, warehouse: psycopg.Connection, tmp_path: Path) -> None:
    with serve_in_thread(scripted({"6591234567": ["lost"]})) as (url, app):
        target = activation(tmp_path, KEYS, deployment_id="990500")
        report = run(stack.warehouse_url, target, client(url))
        assert (report.outcomes["sent"], report.outcomes["in_doubt"]) == (2, 1)
        assert received(app)["6591234567"] == 1  # the vendor has it; we do not know
        run(stack.warehouse_url, target, client(url), run_id="run-2")
        [row] = [r for r in warehouse.execute(OUTBOX, ("test_activation",)) if r[0] == "+6591234567"]
        [event] = [e for e in app.webex_events() if e.event_key == "6591234567"]
        assert row[1:] == ("sent", None, 1, event.transaction_id, "transactions")
        assert received(app)["6591234567"] == 1


def test_an_attempt_without_any_trace_is_sent_again_only_after_the_settling_time(
        stack, warehouse: psycopg.Connection, vendor: tuple[str, SandboxApp], tmp_path: Path) -> None:
    """A run killed after committing its attempt, before the request left: the vendor has
    nothing, and the row waits in doubt until the vendor's reporting lag has passed."""
    url, app = vendor
    target = activation(tmp_path, KEYS)
    with psycopg.connect(libpq_url(stack.warehouse_url)) as conn, \
            psycopg.connect(libpq_url(stack.warehouse_url)) as reader:
        run_activation(target, conn=conn, reader=reader, client=client(url), default_region="US",
                       run_id="run-1", dry_run=True)  # nothing written
    assert warehouse.execute("SELECT count(*) FROM ops.activation_outbox").fetchone()[0] == 0
    warehouse.execute("""INSERT INTO ops.activation_outbox (activation, event_id, sandbox, event_key,
                           params, params_hash, idempotency_key, state, attempts, planned_run_id,
                           last_run_id, planned_at, attempt_started_at, updated_at)
                         VALUES ('test_activation', 'evt_test', true, '+6591234567',
                                 '{"first_name": "Asha"}', md5('{"first_name": "Asha"}'), 'k1',
                                 'sending', 1, 'run-0', 'run-0', %(now)s, %(now)s, %(now)s)""",
                      {"now": clock.now()})
    run(stack.warehouse_url, target, client(url))
    assert received(app)["6591234567"] == 0  # in doubt: not sent blindly
    assert warehouse.execute("SELECT state FROM ops.activation_outbox WHERE idempotency_key = 'k1'"
                             ).fetchone() == ("in_doubt",)
    with time_machine.travel(clock.now() + timedelta(hours=49), tick=True):
        run(stack.warehouse_url, target, client(url), run_id="run-3")
    assert received(app)["6591234567"] == 1
    assert warehouse.execute("SELECT state, attempts FROM ops.activation_outbox WHERE idempotency_key = 'k1'"
                             ).fetchone() == ("sent", 2)


def test_activations_are_assets_downstream_of_what_they_read_with_schedules_off() -> None:
    from dagster import DefaultScheduleStatus

    from pipelines.definitions import defs
    [example] = [a for a in load_activations() if a.name == EXAMPLE]
    spec = defs.resolve_assets_def(example.asset_key).specs_by_key[example.asset_key]
    assert {dep.asset_key for dep in spec.deps} == {AssetKey(["mgage", "message_events"]),
                                                    AssetKey(["cinnox", "message_events"])}
    assert defs.resolve_assets_def(example.asset_key).op.pool == "webex"
    schedule = defs.resolve_schedule_def(f"{example.job_name}_schedule")
    assert schedule.default_status == DefaultScheduleStatus.STOPPED


SEND_IN_A_CHILD = """
import sys
from dagster import DagsterInstance
from pipelines.definitions import defs
job, node = sys.argv[1], sys.argv[2]
defs.resolve_job_def(job).execute_in_process(
    instance=DagsterInstance.ephemeral(), run_config={"ops": {node: {"config": {"dry_run": False}}}})
"""


@pytest.mark.slow
@pytest.mark.parametrize("point", ["activation.planned", "activation.sending@2", "activation.answered@2"],
                         ids=["after-the-outbox-is-written", "after-an-attempt-is-committed",
                              "after-the-vendor-answered"])
def test_a_run_killed_at_any_point_sends_every_event_exactly_once(
        warehouse: psycopg.Connection, vendor: tuple[str, SandboxApp], instant, point: str) -> None:
    """SIGKILL in a child process at a kill point of the send path, then runs until nothing is
    due: the vendor receives every due key once, and the outbox says so."""
    _, app = vendor
    assert run_job("mgage_daily", partition_key=days_ago(0).isoformat()).success
    [example] = [a for a in load_activations() if a.name == EXAMPLE]
    node = "__".join(example.asset_key.path)
    child = subprocess.run([sys.executable, "-c", SEND_IN_A_CHILD, example.job_name, node],
                           env=pinned_environment(instant, dict(os.environ) | {VARIABLE: point}),
                           cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]
    sends = {"ops": {node: {"config": {"dry_run": False}}}}
    assert run_job(example.job_name, run_config=sends).success
    if point.startswith("activation.sending"):
        # The attempt was committed but never left: in doubt, and sent again only once the
        # vendor's reporting lag has passed without a trace of it.
        assert received(app).total() < warehouse.execute(
            "SELECT count(*) FROM ops.activation_outbox").fetchone()[0]
        with time_machine.travel(clock.now() + timedelta(hours=49), tick=True):
            assert run_job(example.job_name, run_config=sends).success

    rows = warehouse.execute(OUTBOX, (EXAMPLE,)).fetchall()
    assert rows and {row[1] for row in rows} == {"sent"}
    counts = received(app)
    assert set(counts.values()) == {1}  # never twice
    assert set(counts) == {row[0].removeprefix("+") for row in rows}  # never forgotten
    assert {row[4] for row in rows} == {event.transaction_id for event in app.webex_events()}


def test_due_rows_are_read_in_batches_oldest_first(stack, warehouse: psycopg.Connection) -> None:
    from pipelines.warehouse.outbox import Outbox

    for n in range(5):
        warehouse.execute("""INSERT INTO ops.activation_outbox (activation, event_id, sandbox, event_key,
                               params, params_hash, idempotency_key, state, planned_run_id, last_run_id,
                               planned_at, updated_at)
                             VALUES ('batched', 'evt', true, %(key)s, '{}', md5('{}'), %(key)s,
                                     %(state)s, 'r', 'r', now(), now())""",
                          {"key": f"+65912345{n:02d}", "state": "sent" if n == 2 else "pending"})
    with psycopg.connect(libpq_url(stack.warehouse_url)) as conn:
        keys = [row.event_key for row in Outbox(conn, "batched", "r").due(batch=2)]
    assert keys == ["+6591234500", "+6591234501", "+6591234503", "+6591234504"]
