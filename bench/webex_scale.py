"""`python -m bench.webex_scale [--keys N]`: Webex at a real tenant's scale, against the sandbox
and a fresh embedded Postgres: N customers (default 100,000) seen in the warehouse, most of
them quiet on Webex, a few percent very busy.

Each phase runs in its own child process, so that its peak RSS is its own:
- refresh: the audience query lists every customer into ops.webex_keys;
- first pass: one run over every shard with no request budget (every key is new, so due);
- next run: straight after, only the keys with recent traffic are due again;
- default budget: every key made due again, one run at the default 20 requests/s in a
  60-second slot: keys pulled per minute at the vendor's pace.
From the first pass's calls per key follows how long a first pass takes at the default budget."""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

from local_stack.launcher import local_stack, source_variables
from pipelines.paths import PROJECT_ROOT
from sandbox.config import SandboxConfig, WebexSandbox

# Most customers never use Webex, a few are very busy (80 transactions a day: every day of
# a first window fills an answer, so it is split down to single days).
QUIET_SHARE = 0.85
BUSY_SHARE = 0.03
# The customers were last seen 45 days ago: old enough to back off weekly once pulled quiet.
SEEN_DAYS_AGO = 45
DEFAULT_RATE = 20


def seed_customers(admin_url: str, keys: int) -> None:
    """`keys` sandbox SMS recipients in core.message_events, one message each."""
    with psycopg.connect(admin_url) as conn:
        # Written directly, not by a load: the month partition is made as a load would make it.
        conn.execute("SELECT core.ensure_month_partitions(ARRAY[(now() - make_interval(days => %(ago)s))::date])",
                     {"ago": SEEN_DAYS_AGO})
        conn.execute("""
            INSERT INTO core.message_events (event_id, source, channel, direction, event_type,
                                             occurred_at, recipient, partition_date, sandbox)
            SELECT 'bench-' || n, 'mgage', 'sms', 'outbound', 'sent',
                   now() - make_interval(days => %(ago)s), '+9198' || lpad(n::text, 8, '0'),
                   (now() - make_interval(days => %(ago)s))::date, true
            FROM generate_series(1, %(keys)s) AS n""", {"keys": keys, "ago": SEEN_DAYS_AGO})


def make_all_due(admin_url: str) -> None:
    """Every key due (a day before it was followed): what a long outage would leave."""
    with psycopg.connect(admin_url) as conn:
        conn.execute("UPDATE ops.webex_keys SET due_at = followed_since - interval '1 day'")


def run_phase(phase: str, env: dict[str, str]) -> dict:
    output = subprocess.run([sys.executable, "-m", "bench.webex_scale", "--phase", phase],
                            cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, check=False)
    if output.returncode != 0:
        raise SystemExit(f"webex {phase} phase failed:\n{output.stderr[-3000:]}")
    return json.loads(output.stdout.strip().splitlines()[-1])


def child(phase: str) -> None:
    """One phase, in this process: the job as Dagster runs it; prints one JSON line."""
    from dagster import AssetKey, DagsterInstance

    from pipelines.definitions import defs
    from pipelines.orchestration.partitions import partition_range_tags
    from pipelines.sources.webex.shards import SHARDS

    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    started = time.perf_counter()
    if phase == "refresh":
        result = defs.resolve_job_def("webex_keys").execute_in_process(
            instance=DagsterInstance.ephemeral(), run_config=quiet)
        key, node = AssetKey(["webex", "followed_keys"]), "webex__followed_keys"
    else:
        shards = SHARDS.get_partition_keys()
        result = defs.resolve_job_def("webex_incremental").execute_in_process(
            instance=DagsterInstance.ephemeral(), run_config=quiet,
            tags=partition_range_tags(shards[0], shards[-1]))
        key, node = AssetKey(["webex", "raw_transactions"]), "webex_load"
    seconds = time.perf_counter() - started
    assert result.success
    [materialization] = [m for m in result.asset_materializations_for_node(node) if m.asset_key == key][-1:]
    metadata = {name: value.value for name, value in materialization.metadata.items()
                if isinstance(value.value, int | float | str) and name not in ("truncations", "per_scope")}
    print(json.dumps({"seconds": seconds,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      **metadata}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--slot-seconds", type=int, default=60,
                        help="the slot of the run at the default budget")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        child(args.phase)
        return
    config = SandboxConfig(webex=WebexSandbox(keys=[], busy_keys=[], timezone="UTC",
                                              quiet_share=QUIET_SHARE, busy_share=BUSY_SHARE))
    owned = {"WAREHOUSE_URL", "DAGSTER_POSTGRES_URL"} | source_variables()
    saved = {name: os.environ.pop(name) for name in owned if name in os.environ}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-webex-") as local, \
                local_stack(sandbox_config=config, local_dir=Path(local)) as stack:
            seed_customers(stack.migration_url, args.keys)
            env = dict(os.environ) | {"WEBEX_FOLLOW_DAYS": str(SEEN_DAYS_AGO + 15),
                                      "WEBEX_MAX_REQUESTS_PER_SECOND": "0"}
            refresh = run_phase("refresh", env)
            make_all_due(stack.migration_url)  # whatever the clock of the next process says
            first = run_phase("first", env)
            again = run_phase("next", env)
            make_all_due(stack.migration_url)
            budgeted = run_phase("budget", env | {"WEBEX_MAX_REQUESTS_PER_SECOND": str(DEFAULT_RATE),
                                                  "WEBEX_RUN_SECONDS": str(args.slot_seconds)})
    finally:
        os.environ.update(saved)
    report(args.keys, refresh, first, again, budgeted)


def report(keys: int, refresh: dict, first: dict, again: dict, budgeted: dict) -> None:
    calls_per_key = first["api_calls"] / max(first["keys_loaded"], 1)
    print(f"Webex at scale: {keys:,} followed keys ({QUIET_SHARE:.0%} quiet, {BUSY_SHARE:.0%} busy)")
    print(f"{'phase':>16} {'keys due':>9} {'pulled':>8} {'calls':>8} {'calls/key':>10} "
          f"{'keys/min':>10} {'seconds':>8} {'peak MB':>8}")
    print(f"{'refresh':>16} {refresh['followed']:>9,} {'':>8} {'':>8} {'':>10} {'':>10} "
          f"{refresh['seconds']:>8.1f} {refresh['peak_rss_mb']:>8.0f}")
    for name, phase in (("first pass", first), ("next run", again), (f"{DEFAULT_RATE} req/s", budgeted)):
        pulled = phase["keys_loaded"]
        print(f"{name:>16} {phase['keys_due']:>9,} {pulled:>8,} {phase['api_calls']:>8,} "
              f"{phase['api_calls'] / max(pulled, 1):>10.2f} {pulled / phase['seconds'] * 60:>10,.0f} "
              f"{phase['seconds']:>8.1f} {phase['peak_rss_mb']:>8.0f}")
    print(f"calls per followed key in the next run: {again['api_calls'] / keys:.3f}")
    minutes = first["api_calls"] / DEFAULT_RATE / 60
    print(f"every key pulled once at {DEFAULT_RATE} req/s: {first['api_calls']:,} calls "
          f"({calls_per_key:.2f} per key) = {minutes:.0f} minutes, "
          f"{minutes / 25:.1f} half-hourly slots of 25 minutes")


if __name__ == "__main__":
    main()
