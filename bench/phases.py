"""One benchmark phase per child process, so that each peak RSS is that phase's alone.
Every phase imports the same modules up front, so timings cover the work, not start-up.

`python -m bench.phases <phase> <records>` reads its targets from the environment the
orchestrator sets (WAREHOUSE_URL, MGAGE_*) and prints one JSON line."""

import json
import os
import resource
import sys
import time
from datetime import date

import psycopg
from dagster import DagsterInstance

from pipelines.definitions import defs
from pipelines.sources.mgage.client import MgageClient
from pipelines.warehouse.queries import query


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_day() -> date:
    return date.fromisoformat(os.environ["BENCH_DAY"])


def mgage_client() -> MgageClient:
    return MgageClient(base_url=os.environ["MGAGE_BASE_URL"], username=os.environ["MGAGE_USERNAME"],
                       password=os.environ["MGAGE_PASSWORD"], program_ids=os.environ["MGAGE_PROGRAM_IDS"])


def pipeline() -> int:
    """The asset exactly as Dagster runs it: fetch, map, COPY, merge, commit."""
    result = defs.resolve_job_def("mgage_daily").execute_in_process(
        instance=DagsterInstance.ephemeral(), partition_key=bench_day().isoformat(),
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}})
    assert result.success
    with psycopg.connect(os.environ["WAREHOUSE_URL"]) as conn:
        return conn.execute("SELECT count(*) FROM core.message_events").fetchone()[0]


def fetch_only() -> int:
    """The same pages fetched and JSON-parsed by the same client, nothing else."""
    records = 0
    with mgage_client().session() as api:
        for page in api.day_pages(bench_day()):
            records += len(page.records)
    return records


def copy_only(records: int) -> int:
    """`records` prepared staging rows COPYed into an empty table: the floor of any load."""
    from functools import partial

    from pipelines.sources.mgage.mapping import map_message
    from pipelines.warehouse.loading import LoadScope, LoadStats, LoadTarget, stage_rows

    # Realistic row widths: a few real pages, prepared once, outside the timed part.
    mapper = partial(map_message, default_region="US")
    scope = LoadScope.day(LoadTarget("mgage", "raw.mgage_messages"), bench_day())
    stats = LoadStats("mgage", scope.key)
    prepared: list[tuple] = []
    with mgage_client().session() as api:
        for page_number, page in enumerate(api.day_pages(bench_day())):
            prepared.extend(stage_rows(page, mapper, scope, stats))
            if page_number == 3:
                break

    with psycopg.connect(os.environ["WAREHOUSE_URL"]) as conn, conn.cursor() as cursor:
        cursor.execute(query("create_stage"))
        started = time.perf_counter()
        with cursor.copy(query("copy_stage")) as copy:
            for n in range(records):
                copy.write_row(prepared[n % len(prepared)])
        os.environ["BENCH_COPY_SECONDS"] = str(time.perf_counter() - started)
    return records


def main() -> None:
    phase, records = sys.argv[1], int(sys.argv[2])
    started = time.perf_counter()
    if phase == "pipeline":
        loaded = pipeline()
    elif phase == "fetch":
        loaded = fetch_only()
    elif phase == "copy":
        loaded = copy_only(records)
    else:
        raise SystemExit(f"unknown phase {phase}")
    seconds = float(os.environ.get("BENCH_COPY_SECONDS") or (time.perf_counter() - started))
    print(json.dumps({"phase": phase, "records": loaded, "seconds": seconds, "peak_rss_mb": peak_rss_mb()}))


if __name__ == "__main__":
    main()
