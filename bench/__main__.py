"""`make bench` / `python -m bench [--sources ...] [--records N ...] [--latency-ms MS ...]`: each
source's pipeline against baselines measured in the same run, on the same sandbox and a fresh
embedded Postgres per source and size.

1. Zero latency, per source and size: records/s for the pipeline, fetch-only and COPY-only;
   the ratio of the pipeline's time to the sum of the two baselines (target <= 1.5); each
   phase's peak RSS.
2. Under latency (the sandbox waits that long before each answer, and replays answers made
   in a warm-up walk, as a remote vendor costs this machine no CPU), per source: records/s of
   the pipeline as it is (pages side by side) and of the sequential walk it had before (one
   page at a time), and their ratio.
3. The target case: one mGage program-day of --target-records at --target-latency-ms, the
   pipeline (the median of --target-runs runs) against the sequential walk and against dlt's
   rest_api source (in its own venv, pinned: requirements/bench-dlt.txt) loading the same day
   into the same Postgres; and the pipeline's fetching alone, which tells the vendor's share
   of the time from the load's.
4. Against a vendor-side limit (--limit-per-second requests a second per credential): the
   pipeline's throughput against what the limit allows, and whether the run failed."""

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import psycopg
from psycopg import sql

from bench.sources import SOURCES
from local_stack.launcher import local_stack, source_variables
from pipelines.model import clock
from pipelines.paths import PROJECT_ROOT
from sandbox.config import VendorNetwork

# Webex's bench keys are passed as WEBEX_KEYS: about 3,000 keys (200,000 records) fit.
WEBEX_MAX_RECORDS = 200_000


def run_phase(source: str, phase: str, records: int, env: dict[str, str], check: bool = True) -> dict:
    """One phase in its own process; with `check` false, a failed run is reported, not fatal."""
    output = subprocess.run([sys.executable, "-m", "bench.phases", source, phase, str(records)],
                            cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, check=False)
    if output.returncode != 0:
        if not check:
            return {"records": 0, "seconds": float("nan"), "peak_rss_mb": float("nan"), "failed": True}
        raise SystemExit(f"{source} {phase} phase failed:\n{output.stderr[-3000:]}")
    return json.loads(output.stdout.strip().splitlines()[-1]) | {"failed": False}


@contextmanager
def bench_stack(source: str, records: int, network: VendorNetwork | None = None) -> Iterator[dict[str, str]]:
    """A fresh embedded warehouse and a sandbox holding about `records` of `source` for the
    bench day (answering over `network`); yields the phases' environment."""
    spec = SOURCES[source]
    config = spec.sandbox(records)
    if network is not None:
        config = dataclasses.replace(config, network={source: network})
    day = clock.today() - timedelta(days=1)
    owned = {"WAREHOUSE_URL", "DAGSTER_POSTGRES_URL"} | source_variables()
    saved = {name: os.environ.pop(name) for name in owned if name in os.environ}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-") as local, \
                local_stack(sandbox_config=config, local_dir=Path(local)) as stack:
            yield dict(os.environ) | spec.environment | {"BENCH_DAY": day.isoformat(),
                                                         "BENCH_ADMIN_URL": stack.admin_url or ""}
    finally:
        os.environ.update(saved)


def bench(source: str, records: int) -> dict:
    with bench_stack(source, records) as env:
        pipeline = run_phase(source, "pipeline", records, env)
        fetch = run_phase(source, "fetch", records, env)
        copy = run_phase(source, "copy", pipeline["records"], env)
    return {"pipeline": pipeline, "fetch": fetch, "copy": copy}


def emptied(env: dict[str, str]) -> dict[str, str]:
    """`env`, after emptying what a load wrote: the next phase starts from the same warehouse."""
    tables = ["core.message_events", "ops.partition_loads", "ops.quarantine", "ops.webex_keys",
              *(source.target.raw_table for source in SOURCES.values())]
    with psycopg.connect(env["BENCH_ADMIN_URL"], autocommit=True) as conn:
        conn.execute(sql.SQL("TRUNCATE {}").format(
            sql.SQL(", ").join(sql.Identifier(*table.split(".")) for table in tables)))
    return env


@contextmanager
def environment(env: dict[str, str]) -> Iterator[None]:
    """os.environ as `env` within the block."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def warm_up(source: str, walks: tuple[dict[str, str], ...]) -> None:
    """Every page that runs under each environment of `walks` will ask for, fetched once here
    (in this process: nothing is measured), so that the sandbox has made them all."""
    from bench.phases import fetch_only

    for walk in walks:
        with environment(walk):
            fetch_only(SOURCES[source])


def under_latency(source: str, records: int, latency_ms: float, peer: bool = False,
                  fetch_alone: bool = False, runs: int = 1) -> dict:
    """The pipeline as it is and the sequential walk (and, with `peer`, dlt; with
    `fetch_alone`, the pipeline's own concurrent walk without the warehouse), one after the
    other on the same sandbox and warehouse, emptied in between. The pipeline runs `runs`
    times: the median is its figure (`concurrent`), and every run's seconds are kept.

    The sandbox makes each page once, in warm-up walks, and replays it after its latency: like
    a remote vendor, it then takes none of this machine's CPU from what is measured. (The
    sequential walk of mGage asks for other pages, in one time slice, as dlt does.)"""
    network = VendorNetwork(latency_ms=latency_ms, replay_answers=True)
    with bench_stack(source, records, network) as env:
        sequential = env | SOURCES[source].sequential_environment
        warm_up(source, (env, sequential) if SOURCES[source].sequential else (env,))
        concurrent = sorted((run_phase(source, "pipeline", records, emptied(env)) for _ in range(runs)),
                            key=lambda phase: phase["seconds"])
        result = {"concurrent": concurrent[len(concurrent) // 2],
                  "concurrent_seconds": [phase["seconds"] for phase in concurrent],
                  "sequential": run_phase(source, "pipeline", records, emptied(sequential))}
        if fetch_alone:
            result["fetch"] = run_phase(source, "fetch", records, env)
        if peer:
            from bench.dlt_env import run_dlt_mgage

            result["dlt"] = run_dlt_mgage(
                base_url=env["MGAGE_BASE_URL"], username=env["MGAGE_USERNAME"],
                password=env["MGAGE_PASSWORD"], program_id=env["MGAGE_PROGRAM_IDS"].split(",")[0],
                day=date.fromisoformat(env["BENCH_DAY"]), database_url=env["BENCH_ADMIN_URL"])
    return result


def target_case(records: int, latency_ms: float, peer: bool, runs: int) -> dict:
    """mGage at the target's size and latency: the pipeline (the median of `runs`: on a
    shared machine one run's speed moves by 10-15%), the sequential walk, dlt, and the
    pipeline's fetching alone (what the vendor's latency allows it, the load aside)."""
    return under_latency("mgage", records, latency_ms, peer=peer, fetch_alone=True, runs=runs)


def against_limit(records: int, latency_ms: float, per_second: float, budget: int = 0) -> dict:
    """mGage against a vendor that allows `per_second` requests a second per credential, the
    pipeline paced at `budget` requests a second (0: none, only its adaptive concurrency)."""
    network = VendorNetwork(latency_ms=latency_ms, max_per_second=per_second)
    with bench_stack("mgage", records, network) as env:
        return run_phase("mgage", "pipeline", records,
                         env | {"MGAGE_MAX_REQUESTS_PER_SECOND": str(budget)}, check=False)


def rate(phase: dict) -> float:
    return phase["records"] / phase["seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sources", nargs="+", default=list(SOURCES), choices=list(SOURCES))
    parser.add_argument("--records", type=int, nargs="*", default=[200_000, 1_000_000])
    parser.add_argument("--latency-ms", type=float, nargs="*", default=[0, 50, 200])
    parser.add_argument("--latency-records", type=int, default=20_000,
                        help="records per source for the latency axis")
    parser.add_argument("--target-records", type=int, default=200_000)
    parser.add_argument("--target-latency-ms", type=float, default=100)
    parser.add_argument("--target-runs", type=int, default=3,
                        help="pipeline runs in the target case; the median is reported")
    parser.add_argument("--limit-per-second", type=float, default=20)
    parser.add_argument("--no-peer", action="store_true", help="leave dlt out (no install)")
    args = parser.parse_args()
    print(f"{'source':>12} {'records':>9} {'pipeline rec/s':>15} {'fetch rec/s':>12} "
          f"{'copy rec/s':>11} {'ratio':>6} {'pipeline MB':>12} {'fetch MB':>9} {'copy MB':>8}")
    for source in args.sources:
        for target in args.records:
            if source == "webex" and target > WEBEX_MAX_RECORDS:
                continue  # its keys go through one environment variable; bench.webex_scale goes further
            r = bench(source, target)
            pipeline, fetch, copy = r["pipeline"], r["fetch"], r["copy"]
            loaded = pipeline["records"]
            ratio = pipeline["seconds"] / (fetch["seconds"] + copy["seconds"])
            print(f"{source:>12} {loaded:>9} {loaded / pipeline['seconds']:>15,.0f} "
                  f"{fetch['records'] / fetch['seconds']:>12,.0f} {loaded / copy['seconds']:>11,.0f} "
                  f"{ratio:>6.2f} {pipeline['peak_rss_mb']:>12.0f} {fetch['peak_rss_mb']:>9.0f} "
                  f"{copy['peak_rss_mb']:>8.0f}", flush=True)
    print("ratio = pipeline time / (fetch-only time + COPY-only time); target <= 1.5")

    if args.latency_ms:
        print(f"\n{'source':>12} {'latency ms':>10} {'records':>9} {'pipeline rec/s':>15} "
              f"{'sequential rec/s':>17} {'speed-up':>9} {'pipeline MB':>12} {'sequential MB':>14}")
        for source in args.sources:
            for latency in args.latency_ms:
                r = under_latency(source, args.latency_records, latency)
                concurrent, sequential = r["concurrent"], r["sequential"]
                print(f"{source:>12} {latency:>10.0f} {concurrent['records']:>9} {rate(concurrent):>15,.0f} "
                      f"{rate(sequential):>17,.0f} {rate(concurrent) / rate(sequential):>9.1f} "
                      f"{concurrent['peak_rss_mb']:>12.0f} {sequential['peak_rss_mb']:>14.0f}", flush=True)
        print("speed-up = pipeline records/s / sequential walk records/s, same sandbox latency")

    if "mgage" in args.sources and args.target_records:
        r = target_case(args.target_records, args.target_latency_ms, peer=not args.no_peer,
                        runs=args.target_runs)
        print(f"\nmGage, one program-day of {args.target_records:,} messages at "
              f"{args.target_latency_ms:.0f} ms per page:")
        for name in ("concurrent", "sequential", "dlt", "fetch"):
            if name in r:
                phase = r[name]
                print(f"{name:>12}: {phase['records']:>9} records in {phase['seconds']:7.1f} s = "
                      f"{rate(phase):>8,.0f} rec/s, peak RSS {phase['peak_rss_mb']:.0f} MB", flush=True)
        print(f"     the pipeline's runs: {', '.join(f'{s:.1f}' for s in r['concurrent_seconds'])} s "
              "(the median above)")
        print(f"     against the sequential walk: {rate(r['concurrent']) / rate(r['sequential']):.1f}x "
              "(target >= 6)")
        if "dlt" in r:
            print(f"     against dlt {r['dlt'].get('dlt_version', '')}: "
                  f"{rate(r['concurrent']) / rate(r['dlt']):.1f}x (target >= 4)")
        print(f"     fetch alone (no warehouse) against the sequential walk: "
              f"{rate(r['fetch']) / rate(r['sequential']):.1f}x; the pipeline does "
              f"{rate(r['concurrent']) / rate(r['fetch']):.0%} of it")

        limit = args.limit_per_second
        if limit:
            records = args.target_records  # the run's start-up is a small share of it
            allowed = limit * SOURCES["mgage"].page_size
            print(f"\nmGage against a vendor limit of {limit:.0f} requests/s (50 ms per page, "
                  f"{records:,} messages); the limit allows {allowed:,.0f} rec/s "
                  "(target: >= 80% of it, and no failed run):")
            # Unknown to the pipeline (only its concurrency adapts), then as its request budget.
            for budget, name in ((0, "limit unknown"), (int(limit), "limit as budget")):
                phase = against_limit(records, 50, limit, budget)
                outcome = "FAILED" if phase["failed"] else f"{rate(phase):,.0f} rec/s"
                print(f"{name:>16}: {outcome} ({rate(phase) / allowed:.0%} of what it allows)", flush=True)


if __name__ == "__main__":
    main()
