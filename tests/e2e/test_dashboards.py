"""The BI dashboard as an analyst sees it after `make run`: the real `python -m local_stack run`
(the default days and volumes of every source, on the sandbox), the real `python -m local_stack
dashboards` (Superset in .venv-bi, as the analyst login), then headless Chromium on the
dashboard. Every chart must render with rows, each must show what it is for (its numbers are
checked against the marts), and no phone number or email of the loaded data may appear on the
page or in anything its charts fetched.

.venv-bi is installed (or found current) while the load runs: it needs no data. Screenshots are
kept in test-artifacts/dashboards/: messaging-campaigns.png (the whole page) and one per chart."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from playwright.sync_api import Page, Response, sync_playwright

from local_stack.dashboards import ADMIN, bi_python, wait_until_up
from local_stack.launcher import migrated_warehouse
from pipelines.paths import PROJECT_ROOT
from tests.support import child_run_env, headless_chromium

pytestmark = pytest.mark.slow

SCREENSHOTS = PROJECT_ROOT / "test-artifacts" / "dashboards"
DASHBOARD = "/superset/dashboard/messaging-campaigns/"
CHARTS = {
    "Events per day by source and channel", "Events per hour by channel",
    "Funnel by channel: sent, delivered, opened, clicked", "Delivery latency by source and channel (minutes)",
    "Top failure codes", "Failure rate by source, channel and carrier network", "Engagement by weekday and hour",
    "Opt-outs per day by channel",
    "Customers, most active first (pseudonyms)",
}
E164 = re.compile(r"\+[1-9][0-9]{7,14}")
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+\.[A-Za-z0-9.-]+")


@dataclass
class Seen:
    """What the browser showed and fetched."""

    data: dict[str, list[dict[str, Any]]]  # chart name: the rows its query returned
    columns: dict[str, list[str]]          # chart name: their columns
    fetched: list[str] = field(default_factory=list)  # every chart data response, as text
    page_text: str = ""
    load_url: str = ""


@dataclass
class Served:
    url: str
    local_dir: Path
    migrator: str  # reads core (clear values) and the marts: what the checks compare with
    seen: Seen | None = None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-3000:] if path.exists() else ""


@pytest.fixture
def dashboards(tmp_path: Path, instant: datetime) -> Iterator[Served]:
    """`make run` and `make dashboards` as an operator runs them, on one warehouse."""
    local_dir = tmp_path
    env = child_run_env(local_dir, instant)
    port = _free_port()
    run_log, serve_log = local_dir / "run.log", local_dir / "dashboards.log"
    command = [sys.executable, "-m", "local_stack"]
    # The server stays up from the load to the dashboards (both adopt it), and for the checks.
    with migrated_warehouse(env, local_dir) as databases, ThreadPoolExecutor(max_workers=1) as background, \
            run_log.open("w") as run_out, serve_log.open("w") as serve_out:
        installed = background.submit(bi_python)
        load = subprocess.run([*command, "run"], cwd=PROJECT_ROOT, env=env, stdout=run_out,
                              stderr=subprocess.STDOUT, timeout=600, check=False)
        assert load.returncode == 0, _tail(run_log)
        installed.result()
        server = subprocess.Popen([*command, "dashboards"], cwd=PROJECT_ROOT,
                                  env=env | {"DASHBOARDS_PORT": str(port)}, stdout=serve_out,
                                  stderr=subprocess.STDOUT, start_new_session=True)
        try:
            url = f"http://127.0.0.1:{port}"
            try:
                wait_until_up(url, server, timeout_s=600)
            except RuntimeError as error:
                raise AssertionError(f"{error}\n{_tail(serve_log)}") from None
            yield Served(url=url, local_dir=local_dir, migrator=databases.migrator)
        finally:
            os.killpg(server.pid, signal.SIGINT)  # what Ctrl-C sends
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()


@pytest.fixture
def seen(dashboards: Served) -> Seen:
    """Log in, open the dashboard, wait until every chart has drawn, keep screenshots."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    password = (dashboards.local_dir / "superset" / "admin.password").read_text().strip()
    responses: list[Response] = []
    with sync_playwright() as playwright:
        browser = headless_chromium(playwright)
        page = browser.new_page(viewport={"width": 1600, "height": 2600})
        page.on("response", lambda response: responses.append(response)
                if "/api/v1/chart/data" in response.url else None)
        # The login form is filled once the page has settled: a form still being drawn may
        # redraw empty. (CI once signed in with it empty: the wait below, then a glob, matched
        # the login page it bounced back to, /login/?next=/superset/welcome/.)
        page.goto(f"{dashboards.url}/login/", wait_until="networkidle")
        page.locator("#username").fill(ADMIN)
        page.locator("#password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        # Superset's first login builds its caches: on a machine busy with the rest of the suite
        # it took over 30 s (Playwright's default), so it gets the time a slow start needs.
        page.wait_for_url(lambda url: urlsplit(url).path.startswith("/superset/welcome"), timeout=180_000)
        page.goto(f"{dashboards.url}{DASHBOARD}")
        try:
            _wait_until_drawn(page)
        finally:  # kept whatever happens: what the page showed is what to look at first
            page.screenshot(path=SCREENSHOTS / "messaging-campaigns.png", full_page=True)
        names = {chart["id"]: chart["slice_name"] for chart in
                 page.request.get(f"{dashboards.url}/api/v1/dashboard/messaging-campaigns/charts").json()["result"]}
        seen = Seen(data={}, columns={}, page_text=page.inner_text("body"))
        for response in responses:
            slice_id = json.loads(response.request.post_data or "{}").get("form_data", {}).get("slice_id")
            body = response.text()
            seen.fetched.append(body)
            if slice_id in names:
                assert response.status == 200, body[:1000]
                [result] = response.json()["result"]
                seen.data[names[slice_id]] = result["data"]
                seen.columns[names[slice_id]] = result["colnames"]
        for holder in page.locator('[data-test="chart-grid-component"]').all():
            title = holder.locator('[data-test="editable-title"]').inner_text()
            holder.screenshot(path=SCREENSHOTS / f"{re.sub(r'[^a-z0-9]+', '-', title.lower()).strip('-')}.png")
        browser.close()
    return seen


def _wait_until_drawn(page: Page, timeout_s: float = 120) -> None:
    """Until every chart of the dashboard has stopped loading and drawn a canvas (ECharts) or
    table rows; the charts that have not by the deadline are named."""
    deadline = time.monotonic() + timeout_s
    pending: list[str] = []
    while time.monotonic() < deadline:
        states = page.evaluate("""() => [...document.querySelectorAll('[data-test="chart-grid-component"]')]
            .map(chart => ({
                title: chart.querySelector('[data-test="editable-title"]')?.innerText ?? '',
                loading: chart.querySelector('[data-test="loading-indicator"]') !== null,
                drawn: chart.querySelectorAll('canvas').length + chart.querySelectorAll('tbody tr').length > 0,
                text: chart.innerText,
            }))""")
        empty = [state["title"] for state in states if "No results" in state["text"]]
        pending = [state["title"] for state in states
                   if (state["loading"] or not state["drawn"]) and state["title"] not in empty]
        if len(states) == len(CHARTS) and not pending:
            assert not empty, f"charts without data: {empty}"
            return
        page.wait_for_timeout(500)
    raise AssertionError(f"charts not drawn within {timeout_s:.0f} s: {pending}")


def _one(dashboards: Served, query: str) -> Any:
    with psycopg.connect(dashboards.migrator) as conn:
        row = conn.execute(query).fetchone()
    assert row is not None
    return row[0]


def _number(value: Any) -> Decimal:
    return Decimal(str(value or 0))


def test_the_dashboard_draws_every_mart_and_no_personal_data(dashboards: Served, seen: Seen) -> None:
    """One test, so that the stack it needs starts once on one worker (pytest-xdist would give
    two tests of the module to two workers, each starting its own)."""
    _every_chart_draws_the_marts_rows(dashboards, seen)
    _no_phone_number_or_email_of_the_loaded_data_is_shown_or_fetched(dashboards, seen)


def _every_chart_draws_the_marts_rows(dashboards: Served, seen: Seen) -> None:
    assert set(seen.data) == CHARTS
    assert all(seen.data[name] for name in CHARTS), {name: len(rows) for name, rows in seen.data.items()}

    # Volume: every source has a series, and the bars add up to the mart's UTC days.
    by_day = "Events per day by source and channel"
    assert {column.split(", ")[0] for column in seen.columns[by_day][1:]} == {"mgage", "senderguide", "cinnox", "webex"}
    drawn = sum(_number(value) for row in seen.data[by_day] for name, value in row.items() if name != "day")
    assert drawn == _one(dashboards, "SELECT sum(events) FROM marts.volume_daily WHERE time_zone = 'UTC'")
    assert sum(_number(v) for row in seen.data["Events per hour by channel"] for k, v in row.items()
               if k != "hour_start") == drawn

    # Funnel: each channel's stages, as the campaign mart counts them, never widening.
    funnel = {row["channel"]: row for row in seen.data["Funnel by channel: sent, delivered, opened, clicked"]}
    assert sum(_number(row["sent"]) for row in funnel.values()) == _one(
        dashboards, "SELECT sum(sent) FROM marts.campaign_performance")
    assert all(row["sent"] >= row["delivered"] >= row["opened"] >= row["clicked"] for row in funnel.values())

    # Latency: the median never above the 90th percentile, for every source and channel.
    latency = seen.data["Delivery latency by source and channel (minutes)"]
    timed = [row for row in latency if row["delivery_p50_minutes"] is not None]
    assert timed and all(0 <= row["delivery_p50_minutes"] <= row["delivery_p90_minutes"] for row in timed)

    # Failures: the most frequent codes first, the top one the mart's; each network's rate is its
    # failures over all its messages, each day's count once (a day without failures included).
    failures = seen.data["Top failure codes"]
    counts = [row["failures"] for row in failures]
    assert counts == sorted(counts, reverse=True) and 0 < len(failures) <= 15
    assert counts[0] == _one(dashboards, """
        SELECT max(failures) FROM (SELECT sum(failures) AS failures FROM marts.failures_daily
            GROUP BY source, channel, error_code, error_reason, carrier_status) AS f""")
    rates = seen.data["Failure rate by source, channel and carrier network"]
    with psycopg.connect(dashboards.migrator) as conn:
        expected = {(source, channel, network): rate for source, channel, network, rate in conn.execute("""
            SELECT source, channel, network, sum(failures)::numeric / sum(messages) FROM (
                SELECT source, channel, network, sum(failures) AS failures, max(messages) AS messages
                FROM marts.failures_daily GROUP BY day, source, channel, network, sandbox) AS per_day
            GROUP BY source, channel, network""")}
    assert rates and all(
        abs(_number(row["failure_rate"]) - expected[row["source"], row["channel"], row["network"]]) < Decimal("1e-6")
        for row in rates)

    # Engagement: weekdays by hour of the day; seven days loaded are every weekday.
    heat = seen.data["Engagement by weekday and hour"]
    assert {row["weekday_label"] for row in heat} == {
        "1 Mon", "2 Tue", "3 Wed", "4 Thu", "5 Fri", "6 Sat", "7 Sun"}
    assert {row["hour_of_day"] for row in heat} <= set(range(24))

    # Opt-outs: the mart's, day by day.
    opt_outs = seen.data["Opt-outs per day by channel"]
    assert sum(_number(v) for row in opt_outs for k, v in row.items() if k != "day") == _one(
        dashboards, "SELECT sum(opt_outs) FROM marts.opt_outs_daily")

    # Customers: by pseudonym only, the most active first.
    customers = seen.data["Customers, most active first (pseudonyms)"]
    assert all(row["recipient_pseudonym"].startswith("pii:") for row in customers)
    events = [row["events"] for row in customers]
    assert events == sorted(events, reverse=True)


def _no_phone_number_or_email_of_the_loaded_data_is_shown_or_fetched(dashboards: Served, seen: Seen) -> None:
    recipients = _recipients(dashboards)
    assert any(E164.fullmatch(recipient) for recipient in recipients)  # there was something to leak
    assert any(EMAIL.fullmatch(recipient) for recipient in recipients)
    shown = "\n".join([seen.page_text, *seen.fetched])
    assert E164.findall(shown) == []
    assert [address for address in EMAIL.findall(shown) if address in recipients] == []
    # Any other spelling of a recipient (a number without its +, an app device id) as a word.
    words = set(re.findall(r"[A-Za-z0-9._%+@-]+", shown))
    assert words.isdisjoint(recipients | {recipient.lstrip("+") for recipient in recipients})
    assert "pii:" in seen.page_text  # the customers table shows pseudonyms instead


def _recipients(dashboards: Served) -> set[str]:
    """Every clear recipient loaded (core: beyond the analyst's reach, not the migrator's)."""
    with psycopg.connect(dashboards.migrator) as conn:
        return {row[0] for row in conn.execute(
            "SELECT DISTINCT recipient FROM core.message_events WHERE recipient IS NOT NULL")}
