"""`make bench` / `python -m bench [--records N ...]`: the mGage path against two baselines
measured in the same run, on the same sandbox and a fresh embedded Postgres per size.

Prints records/s for the pipeline, fetch-only and COPY-only, the ratio of the pipeline's time
to the sum of the two baselines (target <= 1.5), and each phase's peak RSS."""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pipelines.launcher import local_stack
from pipelines.paths import PROJECT_ROOT
from sandbox.config import MgageSandbox, SandboxConfig


def run_phase(phase: str, records: int, env: dict[str, str]) -> dict:
    output = subprocess.run([sys.executable, "-m", "bench.phases", phase, str(records)], cwd=PROJECT_ROOT,
                            env=env, capture_output=True, text=True, check=False)
    if output.returncode != 0:
        raise SystemExit(f"{phase} phase failed:\n{output.stderr[-3000:]}")
    return json.loads(output.stdout.strip().splitlines()[-1])


def bench_size(records: int) -> dict:
    config = SandboxConfig(mgage=MgageSandbox(program_ids=["500001"], daily_messages=records,
                                              mo_ratio=0.0, volume_jitter=0.0))
    day = datetime.now(UTC).date() - timedelta(days=1)
    saved = {name: os.environ.pop(name) for name in list(os.environ)
             if name.startswith("MGAGE_") or name in ("WAREHOUSE_URL", "DAGSTER_POSTGRES_URL")}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-") as local, \
                local_stack(sandbox_config=config, local_dir=Path(local)):
            env = dict(os.environ) | {"BENCH_DAY": day.isoformat()}
            results = {phase: run_phase(phase, records, env) for phase in ("pipeline", "fetch", "copy")}
    finally:
        os.environ.update(saved)
    # fetch-only also sees the next day's first message (windows end at midnight, inclusive).
    if results["pipeline"]["records"] != records:
        raise SystemExit(f"the pipeline loaded {results['pipeline']['records']} records, expected {records}")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, nargs="+", default=[200_000])
    args = parser.parse_args()
    print(f"{'records':>9} {'pipeline rec/s':>15} {'fetch rec/s':>12} {'copy rec/s':>11} "
          f"{'ratio':>6} {'pipeline MB':>12} {'fetch MB':>9} {'copy MB':>8}")
    for records in args.records:
        r = bench_size(records)
        pipeline, fetch, copy = r["pipeline"], r["fetch"], r["copy"]
        ratio = pipeline["seconds"] / (fetch["seconds"] + copy["seconds"])
        print(f"{records:>9} {records / pipeline['seconds']:>15,.0f} {records / fetch['seconds']:>12,.0f} "
              f"{records / copy['seconds']:>11,.0f} {ratio:>6.2f} {pipeline['peak_rss_mb']:>12.0f} "
              f"{fetch['peak_rss_mb']:>9.0f} {copy['peak_rss_mb']:>8.0f}", flush=True)
    print("ratio = pipeline time / (fetch-only time + COPY-only time); target <= 1.5")


if __name__ == "__main__":
    main()
