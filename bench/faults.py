"""`python -m bench.faults`: the fault matrix. For each fault mode, one mGage day is loaded
from a sandbox injecting that fault, re-run while the run fails (at most 5 runs), and compared
with a clean load of the same day: rows lost, rows duplicated or unexpected, runs needed, and
time against the clean load. Malformed records are re-run once the vendor corrects them."""

import argparse
import os
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from pathlib import Path

import psycopg

from bench.sources import BENCH_STAMP
from local_stack.launcher import local_stack
from pipelines.model import clock
from pipelines.sources.mgage.client import MgageClient
from pipelines.sources.mgage.mapping import map_message
from pipelines.transport.http import RetryPolicy, VendorError
from pipelines.warehouse.loading import LoadScope, LoadTarget, load_pages
from sandbox.config import MgageSandbox, SandboxConfig
from sandbox.faults import RECORD_MODES, TRANSPORT_MODES, FaultSettings
from sandbox.server import serve_in_thread

TARGET = LoadTarget("mgage", "raw.mgage_messages")
# "flaky": every transport fault at once, at rates a bad day at a vendor might show.
MODES = ("clean", *TRANSPORT_MODES, *RECORD_MODES, "flaky")
FLAKY = {"throttle": 0.05, "server_error": 0.1, "drop": 0.05, "truncate": 0.05, "slow": 0.05}
# Per request for transport faults; per record (malformed), page (duplicate) or walk (next URLs).
# A gzip bomb is refused, not retried: the run fails and is run again, so it is kept rare
# (a day is about a hundred requests).
RATES = {"malformed": 0.01, "duplicate": 0.5, "foreign_next": 0.5, "loop_next": 0.5, "bomb": 0.02}
TRANSPORT_RATE = 0.4
MAX_RUNS = 5


@dataclass
class Outcome:
    mode: str
    injected: int
    runs: int
    rows: int
    lost: int
    extra: int
    quarantined_first: int
    duplicates_absorbed: int
    seconds: float


def sandbox_config(mode: str, daily: int) -> SandboxConfig:
    rates = {"clean": {}, "flaky": FLAKY}.get(mode) or {mode: RATES.get(mode, TRANSPORT_RATE)}
    return SandboxConfig(mgage=MgageSandbox(program_ids=["121811", "121812"], daily_messages=daily),
                         faults=FaultSettings(seed=7, rates=rates, slow_s=1.5, retry_after_s=1))


def load_day(conn: psycopg.Connection, url: str, config: SandboxConfig, day: date) -> None:
    client = MgageClient(base_url=url, username=config.mgage.username,
                         password=config.mgage.password, program_ids=",".join(config.mgage.program_ids),
                         read_timeout_s=1.0, connect_timeout_s=1.0,
                         # Small pages: each time slice of the day spans several, so that the
                         # faults of a walk's later pages (a repeated record, a looping next URL)
                         # strike the concurrent walks too.
                         page_size=100)
    with client.session(retry=RetryPolicy(max_attempts=6, initial_backoff_s=0.05,
                                          max_backoff_s=0.5)) as api:
        load_pages(conn, LoadScope.day(TARGET, day), api.day_pages(day),
                   partial(map_message, default_region="US"), stamp=BENCH_STAMP)


def contents(conn: psycopg.Connection) -> tuple[set[tuple], int]:
    rows = conn.execute("SELECT event_id, status_raw FROM core.message_events").fetchall()
    raw = conn.execute("SELECT count(*) FROM raw.mgage_messages").fetchone()[0]
    return set(rows), raw


def run_mode(conn: psycopg.Connection, mode: str, day: date, daily: int,
             clean: set[tuple] | None) -> tuple[Outcome, set[tuple]]:
    conn.execute("TRUNCATE core.message_events, raw.mgage_messages, ops.quarantine, ops.partition_loads")
    config = sandbox_config(mode, daily)
    started = time.monotonic()
    runs, quarantined_first = 0, None
    with serve_in_thread(config) as (url, app):
        while runs < MAX_RUNS:
            runs += 1
            try:
                load_day(conn, url, config, day)
            except VendorError:
                continue  # the run failed; an operator (or Dagster's run retry) runs it again
            quarantined = conn.execute("SELECT count(*) FROM ops.quarantine").fetchone()[0]
            quarantined_first = quarantined if quarantined_first is None else quarantined_first
            if not quarantined:
                break
            app.state.advance()  # the vendor corrects what it sent broken
        injected = sum(app.state.faults.injected.values())
    seconds = time.monotonic() - started
    rows, raw = contents(conn)
    absorbed = conn.execute("SELECT coalesce(sum(duplicates), 0) FROM ops.partition_loads").fetchone()[0]
    reference = clean if clean is not None else rows
    # Compare identities only: statuses may differ where the run advanced the generation.
    ids, reference_ids = {row[0] for row in rows}, {row[0] for row in reference}
    return Outcome(mode, injected, runs, len(rows), len(reference_ids - ids),
                   len(ids - reference_ids) + (raw - len(rows)), quarantined_first or 0,
                   absorbed, seconds), rows


def fault_matrix(warehouse_url: str, daily: int = 300, day: date | None = None) -> list[Outcome]:
    day = day or clock.today() - timedelta(days=2)
    outcomes, clean = [], None
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        for mode in MODES:
            outcome, rows = run_mode(conn, mode, day, daily, clean)
            clean = rows if mode == "clean" else clean
            outcomes.append(outcome)
    return outcomes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--daily", type=int, default=5000, help="MT messages per program per day")
    args = parser.parse_args()
    for name in [n for n in os.environ if n.startswith("MGAGE_") or n == "WAREHOUSE_URL"]:
        os.environ.pop(name)
    with tempfile.TemporaryDirectory(prefix="faults-") as local, local_stack(local_dir=Path(local)) as stack:
        outcomes = fault_matrix(stack.migration_url, args.daily)  # it empties tables between modes
    clean_s = outcomes[0].seconds
    print(f"{'mode':>13} {'injected':>8} {'runs':>4} {'rows':>6} {'lost':>4} {'duplicated':>10} "
          f"{'absorbed':>8} {'quarantined':>11} {'time x clean':>12}")
    for o in outcomes:
        print(f"{o.mode:>13} {o.injected:>8} {o.runs:>4} {o.rows:>6} {o.lost:>4} {o.extra:>10} "
              f"{o.duplicates_absorbed:>8} {o.quarantined_first:>11} {o.seconds / clean_s:>12.2f}")
    print("lost / duplicated: rows missing from / beyond a clean load of the same day, after the "
          "runs shown; absorbed: records repeated by the vendor and loaded once; quarantined: "
          "after the first run (re-run once the vendor corrects them)")


if __name__ == "__main__":
    main()
