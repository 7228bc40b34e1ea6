"""One benchmark phase per child process, so that each peak RSS is that phase's alone.
Every phase imports the same modules up front, so timings cover the work, not start-up.

`python -m bench.phases <source> <phase> <records>` reads its targets from the environment
the orchestrator sets (WAREHOUSE_URL and the source's variables) and prints one JSON line."""

import json
import os
import resource
import sys
import time
from datetime import date

import psycopg
from dagster import DagsterInstance

from bench.sources import BENCH_STAMP, SOURCES, BenchSource
from pipelines.definitions import defs
from pipelines.warehouse import event_sql
from pipelines.warehouse.loading import LoadScope, LoadStats, stage_rows


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_day() -> date:
    return date.fromisoformat(os.environ["BENCH_DAY"])


def pipeline(source: BenchSource) -> int:
    """The asset exactly as Dagster runs it: fetch, map, COPY, merge, commit."""
    result = defs.resolve_job_def(source.job).execute_in_process(
        instance=DagsterInstance.ephemeral(),
        partition_key=bench_day().isoformat() if source.partitioned else None,
        tags=source.run_tags(bench_day()),
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}})
    assert result.success
    with psycopg.connect(os.environ["WAREHOUSE_URL"]) as conn:
        return conn.execute("SELECT count(*) FROM core.message_events WHERE source = %s",
                            (source.name,)).fetchone()[0]


def fetch_only(source: BenchSource) -> int:
    """The same pages fetched and JSON-parsed by the same client, nothing else."""
    records = 0
    client = source.client()
    with client.session() as session:
        for page in source.pages(client, session, bench_day()):
            records += len(page.records)
    return records


def copy_only(source: BenchSource, records: int) -> float:
    """Seconds to COPY `records` prepared staging rows into an empty table: the floor of any
    load. The rows are a few real pages, mapped once, outside the timed part."""
    client = source.client()
    scope = LoadScope.day(source.target, bench_day(), source.day_zone(client))
    stats = LoadStats(source.name, scope.key)
    prepared: list[tuple] = []
    with client.session() as session:
        for page in source.pages(client, session, bench_day()):
            prepared.extend(stage_rows(page, source.mapper(client), scope, stats, BENCH_STAMP))
            if len(prepared) >= 2000:
                break
    with psycopg.connect(os.environ["WAREHOUSE_URL"]) as conn, conn.cursor() as cursor:
        cursor.execute(event_sql.create_stage())
        started = time.perf_counter()
        with cursor.copy(event_sql.copy_stage()) as copy:
            for n in range(records):
                copy.write_row(prepared[n % len(prepared)])
        return time.perf_counter() - started


def main() -> None:
    source, phase, records = SOURCES[sys.argv[1]], sys.argv[2], int(sys.argv[3])
    started = time.perf_counter()
    if phase == "pipeline":
        handled = pipeline(source)
    elif phase == "fetch":
        handled = fetch_only(source)
    elif phase == "copy":
        seconds = copy_only(source, records)
        print(json.dumps({"phase": phase, "records": records, "seconds": seconds,
                          "peak_rss_mb": peak_rss_mb()}))
        return
    else:
        raise SystemExit(f"unknown phase {phase}")
    print(json.dumps({"phase": phase, "records": handled, "seconds": time.perf_counter() - started,
                      "peak_rss_mb": peak_rss_mb()}))


if __name__ == "__main__":
    main()
