"""`make bench` / `python -m bench [--sources ...] [--records N ...]`: each source's pipeline
against two baselines measured in the same run, on the same sandbox and a fresh embedded
Postgres per source and size.

Prints, per source and size: records/s for the pipeline, fetch-only and COPY-only; the ratio of
the pipeline's time to the sum of the two baselines (target <= 1.5); each phase's peak RSS."""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from bench.sources import SOURCES
from local_stack.launcher import local_stack, source_variables
from pipelines.model import clock
from pipelines.paths import PROJECT_ROOT


def run_phase(source: str, phase: str, records: int, env: dict[str, str]) -> dict:
    output = subprocess.run([sys.executable, "-m", "bench.phases", source, phase, str(records)],
                            cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, check=False)
    if output.returncode != 0:
        raise SystemExit(f"{source} {phase} phase failed:\n{output.stderr[-3000:]}")
    return json.loads(output.stdout.strip().splitlines()[-1])


def bench(source: str, records: int) -> dict:
    spec = SOURCES[source]
    day = clock.today() - timedelta(days=1)
    owned = {"WAREHOUSE_URL", "DAGSTER_POSTGRES_URL"} | source_variables()
    saved = {name: os.environ.pop(name) for name in owned if name in os.environ}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-") as local, \
                local_stack(sandbox_config=spec.sandbox(records), local_dir=Path(local)):
            env = dict(os.environ) | spec.environment | {"BENCH_DAY": day.isoformat()}
            pipeline = run_phase(source, "pipeline", records, env)
            fetch = run_phase(source, "fetch", records, env)
            copy = run_phase(source, "copy", pipeline["records"], env)
    finally:
        os.environ.update(saved)
    return {"pipeline": pipeline, "fetch": fetch, "copy": copy}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sources", nargs="+", default=list(SOURCES), choices=list(SOURCES))
    parser.add_argument("--records", type=int, nargs="+", default=[200_000])
    args = parser.parse_args()
    print(f"{'source':>12} {'records':>9} {'pipeline rec/s':>15} {'fetch rec/s':>12} "
          f"{'copy rec/s':>11} {'ratio':>6} {'pipeline MB':>12} {'fetch MB':>9} {'copy MB':>8}")
    for source in args.sources:
        for target in args.records:
            r = bench(source, target)
            pipeline, fetch, copy = r["pipeline"], r["fetch"], r["copy"]
            loaded = pipeline["records"]
            ratio = pipeline["seconds"] / (fetch["seconds"] + copy["seconds"])
            print(f"{source:>12} {loaded:>9} {loaded / pipeline['seconds']:>15,.0f} "
                  f"{fetch['records'] / fetch['seconds']:>12,.0f} {loaded / copy['seconds']:>11,.0f} "
                  f"{ratio:>6.2f} {pipeline['peak_rss_mb']:>12.0f} {fetch['peak_rss_mb']:>9.0f} "
                  f"{copy['peak_rss_mb']:>8.0f}", flush=True)
    print("ratio = pipeline time / (fetch-only time + COPY-only time); target <= 1.5")


if __name__ == "__main__":
    main()
