"""The data team's view, end to end: the real `dagster dev` (webserver and daemon) on a free
port, a run launched through its GraphQL API against the sandbox, the warehouse checked, and
headless Chromium showing the asset graph and the successful run. Screenshots are kept in
test-artifacts/."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import psycopg
import pytest
from playwright.sync_api import sync_playwright

from local_stack.launcher import LocalStack
from pipelines.paths import PROJECT_ROOT
from tests.support import days_ago, headless_chromium

pytestmark = pytest.mark.slow

ARTIFACTS = PROJECT_ROOT / "test-artifacts"

LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on InvalidStepError { invalidStepKey }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}"""
STATUS = """query Status($runId: ID!) { runOrError(runId: $runId) { ... on Run { status } } }"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def dagster_dev(stack: LocalStack) -> Iterator[str]:
    """`dagster dev` on the test's warehouse, instance database and sandbox."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "dagster", "dev", "-w", "workspace.yaml", "--port", str(port)],
        cwd=PROJECT_ROOT, env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"dagster dev exited: {process.stderr.read().decode()[-2000:]}")
            try:
                if httpx.get(f"{url}/server_info", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(1)
        else:
            raise RuntimeError("dagster dev did not start within 120 s")
        yield url
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def dismiss_welcome(page) -> None:
    """The webserver greets a new browser with a community sign-up dialog; skip it."""
    skip = page.get_by_role("button", name="Skip")
    try:
        skip.wait_for(timeout=5_000)
    except Exception:  # no dialog this time
        return
    skip.click()


def graphql(url: str, query: str, variables: dict) -> dict:
    response = httpx.post(f"{url}/graphql", json={"query": query, "variables": variables}, timeout=30)
    response.raise_for_status()
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def test_a_run_launched_in_dagster_dev_loads_and_shows_in_the_ui(
        dagster_dev: str, warehouse: psycopg.Connection) -> None:
    day = days_ago(1).isoformat()  # dagster dev keeps the real clock: a past day exists there too
    launched = graphql(dagster_dev, LAUNCH, {"params": {
        "selector": {"repositoryLocationName": "messaging_pipelines",
                     "repositoryName": "__repository__", "jobName": "mgage_daily"},
        "executionMetadata": {"tags": [{"key": "dagster/partition", "value": day}]},
    }})["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]

    deadline, status = time.monotonic() + 240, None
    while time.monotonic() < deadline:
        status = graphql(dagster_dev, STATUS, {"runId": run_id})["runOrError"]["status"]
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            break
        time.sleep(2)
    assert status == "SUCCESS"
    loaded = warehouse.execute("SELECT count(*) FROM core.message_events "
                               "WHERE source = 'mgage' AND partition_date = %s", (day,)).fetchone()[0]
    assert loaded > 0

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = headless_chromium(playwright)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.goto(f"{dagster_dev}/locations/messaging_pipelines/asset-groups/mgage",
                  wait_until="networkidle")
        dismiss_welcome(page)
        page.wait_for_timeout(2_000)
        page.screenshot(path=ARTIFACTS / "asset-graph-mgage.png")  # kept even if what follows fails
        page.get_by_text("message_events").first.wait_for(timeout=30_000)
        page.get_by_text("raw_messages").first.wait_for(timeout=30_000)
        page.screenshot(path=ARTIFACTS / "asset-graph-mgage.png")

        page.goto(f"{dagster_dev}/runs/{run_id}", wait_until="networkidle")
        dismiss_welcome(page)
        page.screenshot(path=ARTIFACTS / "run-mgage-daily.png")
        page.get_by_text("Success").first.wait_for(timeout=30_000)
        page.get_by_text("mgage_daily").first.wait_for(timeout=30_000)
        page.screenshot(path=ARTIFACTS / "run-mgage-daily.png")
        browser.close()
    assert (ARTIFACTS / "asset-graph-mgage.png").stat().st_size > 10_000
    assert (ARTIFACTS / "run-mgage-daily.png").stat().st_size > 10_000
