"""`make bench` still runs end to end (at a tiny size): a benchmark that nothing runs breaks
unnoticed. No figure is asserted: speed is measured by make bench, never by a test."""

import subprocess
import sys
from datetime import datetime

import pytest

from pipelines.paths import PROJECT_ROOT
from tests.support import child_run_env

pytestmark = pytest.mark.slow


def run_bench(tmp_path, instant: datetime, *arguments: str) -> list[str]:
    """`python -m bench` at tiny sizes and latencies, without dlt (it installs its own
    environment); its printed tables."""
    run = subprocess.run([sys.executable, "-m", "bench", *arguments, "--no-peer"], cwd=PROJECT_ROOT,
                         env=child_run_env(tmp_path, instant), capture_output=True, text=True,
                         timeout=900, check=False)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    return run.stdout.split("\n\n")


# The sources' axes in two halves, and the target case apart: one test each, side by side.
@pytest.mark.parametrize("sources", [("mgage", "senderguide"), ("cinnox", "webex")])
def test_the_benchmark_runs_every_phase_of_every_source(tmp_path, instant: datetime,
                                                        sources: tuple[str, ...]) -> None:
    tables = run_bench(tmp_path, instant, "--sources", *sources, "--records", "2000", "--latency-ms", "20",
                       "--latency-records", "1000", "--target-records", "0")
    zero = [line.split() for line in tables[0].splitlines()[1:-1]]
    assert {row[0] for row in zero} == set(sources)
    assert all(int(row[1]) > 0 and float(row[5]) > 0 for row in zero)
    latency = [line.split() for line in tables[1].splitlines()[1:-1]]
    assert {(row[0], row[1]) for row in latency} == {(source, "20") for source in sources}
    assert all(int(row[2]) > 0 and float(row[5]) > 0 for row in latency)


def test_the_benchmark_runs_the_target_case_and_the_vendor_limit(tmp_path, instant: datetime) -> None:
    tables = run_bench(tmp_path, instant, "--sources", "mgage", "--records", "--latency-ms",
                       "--target-records", "2000", "--target-latency-ms", "20", "--target-runs", "1",
                       "--limit-per-second", "50")
    assert "against the sequential walk:" in tables[1]
    assert "FAILED" not in tables[2] and "the limit allows" in tables[2]


def test_the_webex_scale_benchmark_runs_every_phase(tmp_path, instant: datetime) -> None:
    run = subprocess.run([sys.executable, "-m", "bench.webex_scale", "--keys", "300",
                          "--slot-seconds", "2"], cwd=PROJECT_ROOT, env=child_run_env(tmp_path, instant),
                         capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    phases = {line.split()[0] for line in run.stdout.splitlines()[2:6]}
    assert phases == {"refresh", "first", "next", "20"}
    assert "every key pulled once at 20 req/s" in run.stdout


def test_the_growth_benchmark_loads_and_queries_at_every_size(tmp_path, instant: datetime) -> None:
    run = subprocess.run([sys.executable, "-m", "bench.growth", "--sizes", "2000", "8000",
                          "--records", "1000", "--repeats", "1"], cwd=PROJECT_ROOT,
                         env=child_run_env(tmp_path, instant), capture_output=True, text=True,
                         timeout=600, check=False)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    sizes = [line.split() for line in run.stdout.split("\n\n")[1].splitlines()[1:-1]]
    assert [(row[0], row[1]) for row in sizes] == [("2,000", "1,000"), ("8,000", "1,000")]
    queries = [line for line in run.stdout.split("\n\n")[2].splitlines()[1:-1]]
    assert len(queries) == 6
    # The last 7 days read the bench day's month and at most the one before, of the year's
    # 13 months and the one made ahead.
    last_week = [line for line in queries if line.strip().startswith("last 7 days")]
    assert all(line.split()[-3] in {"1", "2"} and int(line.split()[-1]) >= 13 for line in last_week), last_week
