"""`make run` killed with SIGKILL at many points (while paging, copying, merging, between
sources; once with the embedded Postgres killed too), then run again: the warehouse ends up
exactly as a clean run leaves it, and nothing killed is left running. And the very first start
of a brand-new local directory (initdb, migrations, Dagster's storage) killed, process group and
all, at any instant: the next `make run` starts and loads."""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import psutil
import psycopg
import pytest

from local_stack.embedded import embedded_postgres
from pipelines.paths import PROJECT_ROOT
from tests.support import child_run_env

pytestmark = pytest.mark.slow

# Everything that must match a clean run; load timestamps and run ids naturally differ.
CONTENTS = {
    "core.message_events": "SELECT event_id, source, channel, direction, event_type, status_raw, "
                           "occurred_at, recipient, campaign_id, campaign_name, message_id, "
                           "error_code, error_reason, attributes, partition_date FROM core.message_events",
    "raw": "SELECT record_id, partition_date, context, payload FROM raw.mgage_messages UNION ALL "
           "SELECT record_id, partition_date, context, payload FROM raw.senderguide_interactions UNION ALL "
           "SELECT record_id, partition_date, context, payload FROM raw.cinnox_campaign_recipients UNION ALL "
           "SELECT record_id, partition_date, context, payload FROM raw.webex_transactions",
    "ops.quarantine": "SELECT source, scope, record_hash, reason, payload FROM ops.quarantine",
    "ops.webex_keys": "SELECT key, configured, listed, seen_at, loaded_through, last_activity_on "
                      "FROM ops.webex_keys",
    "ops.webex_truncations": "SELECT key, local_date, returned FROM ops.webex_truncations",
}
KILL_AFTER_S = (0.8, 1.6, 2.4, 3.2, 4.0, 4.8, 5.6, 6.4, 7.2, 8.0)
KILL_POSTGRES_TOO = 4.0
# Into the first start of an empty local directory, one kill in each of its phases, each told by
# what the start has left on disk so far (not by a time: on a busy machine, 0.3 to 3.0 s after
# the start were all still in the imports, with nothing on disk, and no kill reached the
# migrations). A name: the path under the local directory whose appearance is that phase
# (None: from the start), and the seconds to wait after it.
FIRST_START_KILLS = {
    "imports": (None, 0.3),                   # nothing on disk yet
    "initdb": ("pgdata.building", 0.0),       # initialized beside its final place
    "the server's first start": ("pgdata", 0.0),  # renamed into place, the server starting
    "migrations": ("pgdata/postmaster.pid", 0.5),  # the server up: roles, migrations, then
                                                   # Dagster's storage (each of its steps: test_dagster_storage)
    "the sandbox": ("dagster", 0.0),          # Dagster's home made, the sandbox starting
}


def start(local_dir: Path, instant: datetime, days: int = 2) -> subprocess.Popen:
    # Every run's clock stays at the test's instant, so that all of them load the same days and
    # find the same data there: a ticking clock let the sandbox's today grow while a run ran, and
    # a clean run and a re-run that reached a source at different seconds (the machine busier for
    # one than the other) loaded different messages, and followed different Webex keys.
    return subprocess.Popen([sys.executable, "-m", "local_stack", "run"], cwd=PROJECT_ROOT,
                            env=child_run_env(local_dir, instant, frozen=True, DAYS=str(days)),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)


def run_to_the_end(local_dir: Path, instant: datetime, days: int = 2) -> str:
    process = start(local_dir, instant, days)
    output, _ = process.communicate(timeout=300)
    assert process.returncode == 0, output[-3000:]
    return output


def contents(local_dir: Path) -> dict[str, list]:
    with embedded_postgres(local_dir / "pgdata") as server, \
            psycopg.connect(server.database_url("warehouse")) as conn:
        return {name: sorted(conn.execute(sql).fetchall(), key=repr) for name, sql in CONTENTS.items()}


def differences(actual: dict[str, list], expected: dict[str, list]) -> dict[str, dict]:
    """Per table, the rows only one side has (a few of each, cut short) and their counts: a
    mismatch of millions of rows is told in seconds, where pytest's own diff of the whole
    contents ran past the timeout."""
    found = {}
    for name in expected:
        actual_rows, expected_rows = Counter(map(repr, actual[name])), Counter(map(repr, expected[name]))
        extra, missing = actual_rows - expected_rows, expected_rows - actual_rows
        if extra or missing:
            found[name] = {"extra": sum(extra.values()), "missing": sum(missing.values()),
                           "some extra": [row[:300] for row in list(extra)[:5]],
                           "some missing": [row[:300] for row in list(missing)[:5]]}
    return found


def runs_left_in_progress(local_dir: Path) -> list[tuple]:
    with embedded_postgres(local_dir / "pgdata") as server, \
            psycopg.connect(server.database_url("dagster")) as conn:
        return conn.execute("SELECT run_id, status FROM dagster.runs WHERE status NOT IN "
                            "('SUCCESS', 'FAILURE', 'CANCELED')").fetchall()


def postmaster(local_dir: Path) -> psutil.Process | None:
    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info["cmdline"] or []
        if "-D" in cmdline and str(local_dir / "pgdata") in cmdline:
            return process
    return None


def test_killed_runs_leave_exactly_what_a_clean_run_leaves(tmp_path: Path, instant: datetime) -> None:
    clean_dir, killed_dir = tmp_path / "clean", tmp_path / "killed"
    run_to_the_end(clean_dir, instant)
    expected = contents(clean_dir)
    assert expected["core.message_events"] and expected["raw"]

    for delay in KILL_AFTER_S:
        process = start(killed_dir, instant)
        time.sleep(delay)
        if delay == KILL_POSTGRES_TOO and (server := postmaster(killed_dir)) is not None:
            server.kill()  # the warehouse dies with its client: it must recover on the next start
        process.kill()
        process.wait()
        process.stdout.close()
    run_to_the_end(killed_dir, instant)

    assert differences(contents(killed_dir), expected) == {}
    assert runs_left_in_progress(killed_dir) == []  # a killed run is marked failed, not left STARTED
    time.sleep(1)  # the sandbox children die with their parent (SIGTERM on parent death)
    leftovers = [p.info["cmdline"] for p in psutil.process_iter(["cmdline"])
                 if "sandbox" in " ".join(p.info["cmdline"] or []) and p.info["cmdline"][-1] == "sandbox"
                 and psutil.Process(p.pid).ppid() == 1]
    assert leftovers == []


def test_a_first_start_killed_at_any_instant_leaves_a_startable_system(
        tmp_path: Path, instant: datetime) -> None:
    for phase, (sign, delay) in FIRST_START_KILLS.items():
        local_dir = tmp_path / f"killed-in-{phase.replace(' ', '-')}"
        process = start(local_dir, instant, days=1)
        deadline = time.monotonic() + 120
        while sign is not None and not (local_dir / sign).exists():
            assert process.poll() is None and time.monotonic() < deadline, f"{phase} never began"
            time.sleep(0.01)
        time.sleep(delay)
        assert process.poll() is None, f"the start ended before the kill in {phase}"
        os.killpg(process.pid, signal.SIGKILL)  # make run, its sandbox, initdb, pg_ctl...
        process.wait()
        process.stdout.close()
        run_to_the_end(local_dir, instant, days=1)  # starts, repairs what the kill left, loads
        loaded = contents(local_dir)
        assert loaded["core.message_events"] and loaded["raw"], phase
