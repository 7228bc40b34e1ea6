"""`make run`'s entry point as an operator runs it: a child process, twice, then a look at the
warehouse it leaves and the processes it does not leave behind."""

import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import psutil
import psycopg
import pytest

from local_stack.embedded import embedded_postgres
from pipelines.paths import PROJECT_ROOT
from tests.support import child_run_env

pytestmark = pytest.mark.slow

# Everything a load writes whose content must not change unless the vendor's did (run ids and
# timestamps of ops bookkeeping such as partition_loads and webex_keys do change).
TABLES = ("core.message_events", "raw.mgage_messages", "raw.senderguide_interactions",
          "raw.cinnox_campaign_recipients", "raw.webex_transactions", "ops.quarantine",
          "ops.webex_truncations", "marts.volume_daily")


def run_pipeline(local_dir: Path, instant: datetime) -> subprocess.CompletedProcess:
    # The clock stays at the instant: with it ticking, a run that reached a source later than
    # the other would find more of today's messages, and the second run would rightly load them.
    return subprocess.run([sys.executable, "-m", "local_stack", "run"], cwd=PROJECT_ROOT,
                          env=child_run_env(local_dir, instant, frozen=True, DAYS="2"),
                          capture_output=True, text=True, timeout=300)


def warehouse_contents(local_dir: Path) -> dict[str, list[tuple]]:
    with embedded_postgres(local_dir / "pgdata") as server, \
            psycopg.connect(server.database_url("warehouse")) as conn:
        return {table: conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()  # fixed names
                for table in TABLES}


def leftover_processes(local_dir: Path, grace_s: float = 5.0) -> list[str]:
    """Processes still serving `local_dir` once a shutdown's last moments have passed."""
    deadline = time.monotonic() + grace_s
    while True:
        found = [" ".join(process.info["cmdline"] or [])
                 for process in psutil.process_iter(["cmdline"])
                 if str(local_dir) in " ".join(process.info["cmdline"] or [])]
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_make_run_loads_every_source_prints_a_summary_and_is_repeatable(
        tmp_path: Path, instant: datetime) -> None:
    # Both runs start at the same instant: two runs a midnight apart rightly load other days.
    first = run_pipeline(tmp_path, instant)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "Events by source / channel / event type" in first.stdout
    for source in ("mgage", "senderguide", "cinnox", "webex"):
        assert f"{source}: sandbox" in first.stdout
        assert f"{source}: loaded" in first.stdout
    assert "marts: refreshed" in first.stdout
    assert leftover_processes(tmp_path) == []
    after_first = warehouse_contents(tmp_path)
    assert all(after_first[table] for table in TABLES if table.startswith(("core", "raw")))
    # The run ends with the marts up to date: every loaded event is counted, once, in UTC.
    events_column = 7  # marts.volume_daily: time_zone, day, source, channel, direction, event_type, sandbox, events
    utc_counts = [row[events_column] for row in after_first["marts.volume_daily"] if row[0] == "UTC"]
    assert sum(utc_counts) == len(after_first["core.message_events"])

    second = run_pipeline(tmp_path, instant)
    assert second.returncode == 0, second.stderr[-3000:]
    assert warehouse_contents(tmp_path) == after_first  # identical, loaded_at included
    assert leftover_processes(tmp_path) == []
