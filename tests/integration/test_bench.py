"""`make bench` still runs end to end (at a tiny size): a benchmark that nothing runs breaks
unnoticed. No figure is asserted: speed is measured by make bench, never by a test."""

import subprocess
import sys
from datetime import datetime

import pytest

from pipelines.paths import PROJECT_ROOT
from tests.support import child_run_env

pytestmark = pytest.mark.slow


def test_the_benchmark_runs_every_phase_of_every_source(tmp_path, instant: datetime) -> None:
    run = subprocess.run([sys.executable, "-m", "bench", "--records", "2000"], cwd=PROJECT_ROOT,
                         env=child_run_env(tmp_path, instant),
                         capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    rows = {line.split()[0]: line.split() for line in run.stdout.splitlines()[1:-1]}
    assert set(rows) == {"mgage", "senderguide", "cinnox", "webex"}
    assert all(int(row[1]) > 0 and float(row[5]) > 0 for row in rows.values())


def test_the_webex_scale_benchmark_runs_every_phase(tmp_path, instant: datetime) -> None:
    run = subprocess.run([sys.executable, "-m", "bench.webex_scale", "--keys", "300",
                          "--slot-seconds", "2"], cwd=PROJECT_ROOT, env=child_run_env(tmp_path, instant),
                         capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    phases = {line.split()[0] for line in run.stdout.splitlines()[2:6]}
    assert phases == {"refresh", "first", "next", "20"}
    assert "every key pulled once at 20 req/s" in run.stdout
