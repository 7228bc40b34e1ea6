"""`python -m bench.growth [--sizes 100000 10000000] [--records N] [--repeats K]`: the same
daily load into a warehouse that already holds a little and a lot.

One embedded warehouse and sandbox holding --records mGage messages on the bench day. For each
size, smallest first: the warehouse is emptied and filled with that many events (and their
landed records) spread over the year before the bench day, server-side (bench/sql), then
analyzed; the bench day is loaded by the pipeline as Dagster runs it, --repeats times from an
empty day (the best kept), then once more over itself (the lookback's re-load: nothing
changed). Then the analysts' typical queries (bench/sql/growth_queries.sql) as the analyst
reads them, best of five, with the month partitions their plan reads.

Printed: per size, the load and re-load seconds and their ratio to the smallest size (target
<= 1.2 at 10M against 100k); per query and size, milliseconds (target < 100 at 10M) and the
partitions read of those there are."""

import argparse
import json
import time
from datetime import date
from hashlib import md5
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from bench.__main__ import bench_stack, emptied, run_phase
from bench.sources import SOURCES
from pipelines.model.timestamps import month_start

SQL_DIR = Path(__file__).parent / "sql"
QUERY_PARAMS = {"pseudonym": "p42", "campaign": "c68"}  # a recipient and a recent campaign of the fill


def fill(env: dict[str, str], rows: int, day: date) -> None:
    """Empty the warehouse, then fill it with `rows` events of the year before `day`."""
    emptied(env)
    with psycopg.connect(env["BENCH_ADMIN_URL"], autocommit=True) as conn:
        months = [month_start(day, -k) for k in range(13)]
        conn.execute("SELECT core.ensure_month_partitions(%s::date[])", (months,))
        conn.execute((SQL_DIR / "growth_fill.sql").read_text(), {"rows": rows, "day": day})
        for source in SOURCES.values():
            conn.execute(sql.SQL((SQL_DIR / "growth_fill_raw.sql").read_text()).format(
                raw_table=sql.Identifier(*source.target.raw_table.split("."))),
                {"source": source.name, "day": day})
        conn.execute("VACUUM ANALYZE")
        # The fill's own writes are flushed before the load: its checkpoint is not the load's cost.
        conn.execute("CHECKPOINT")


def clear_day(env: dict[str, str], day: date) -> None:
    """Remove what loading the bench day wrote, so that the next load starts from the same place."""
    with psycopg.connect(env["BENCH_ADMIN_URL"], autocommit=True) as conn:
        for table in ("core.message_events", SOURCES["mgage"].target.raw_table, "ops.partition_loads"):
            conn.execute(sql.SQL("DELETE FROM {} WHERE partition_date = %s").format(
                sql.Identifier(*table.split("."))), (day,))


def day_rows(env: dict[str, str], day: date) -> int:
    """The events the bench day's load left (the pipeline phase counts the whole source)."""
    with psycopg.connect(env["BENCH_ADMIN_URL"]) as conn:
        (rows,) = conn.execute("SELECT count(*) FROM core.message_events WHERE partition_date = %s",
                               (day,)).fetchone() or (0,)
    return int(rows)


def typical_queries() -> dict[str, str]:
    """The named queries of growth_queries.sql (`-- name: ...` before each)."""
    queries: dict[str, str] = {}
    for block in (SQL_DIR / "growth_queries.sql").read_text().split("-- name: ")[1:]:
        name, _, text = block.partition("\n")
        queries[name.strip()] = text.strip().rstrip(";")
    return queries


def scanned_relations(plan: dict[str, Any]) -> set[str]:
    found = {plan["Relation Name"]} if "Relation Name" in plan else set()
    for child in plan.get("Plans", []):
        found |= scanned_relations(child)
    return found


def query_figures(env: dict[str, str], day: date) -> dict[str, tuple[float, int, int]]:
    """Per typical query: best of five milliseconds, month partitions read, partitions there are."""
    # The fill's pseudonyms are md5('p' || n): the query's recipient is one of them.
    params = QUERY_PARAMS | {"day": day, "pseudonym": md5(QUERY_PARAMS["pseudonym"].encode()).hexdigest()}
    figures = {}
    with psycopg.connect(env["BENCH_ADMIN_URL"]) as conn:
        (total,) = conn.execute("SELECT count(*) FROM pg_inherits "
                                "WHERE inhparent = 'core.message_events'::regclass").fetchone() or (0,)
        conn.execute("SET ROLE analyst")
        for name, text in typical_queries().items():
            (plan,) = conn.execute(sql.SQL("EXPLAIN (FORMAT JSON) ") + sql.SQL(text), params).fetchone() or ({},)
            read = len(scanned_relations(plan[0]["Plan"]) - {"message_events"})
            conn.execute(sql.SQL(text), params).fetchall()  # warm
            best = float("inf")
            for _ in range(5):
                started = time.perf_counter()
                conn.execute(sql.SQL(text), params).fetchall()
                best = min(best, time.perf_counter() - started)
            figures[name] = (best * 1000, read, total)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 10_000_000])
    parser.add_argument("--records", type=int, default=100_000, help="mGage messages of the day loaded")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    results: dict[int, dict[str, Any]] = {}
    with bench_stack("mgage", args.records) as env:
        day = date.fromisoformat(env["BENCH_DAY"])
        for size in sorted(args.sizes):
            started = time.perf_counter()
            fill(env, size, day)
            filled = time.perf_counter() - started
            loads = []
            for _ in range(args.repeats):
                clear_day(env, day)
                loads.append(run_phase("mgage", "pipeline", args.records, env))
            reload = run_phase("mgage", "pipeline", args.records, env)
            results[size] = {"fill_s": filled, "load": min(loads, key=lambda phase: phase["seconds"]),
                             "reload": reload, "day_rows": day_rows(env, day),
                             "queries": query_figures(env, day)}
            print(json.dumps({"size": size, "fill_s": round(filled, 1),
                              "load_s": round(results[size]["load"]["seconds"], 2),
                              "reload_s": round(reload["seconds"], 2)}), flush=True)
    smallest = results[min(results)]
    print(f"\n{'rows present':>13} {'day rows':>9} {'load s':>7} {'ratio':>6} {'re-load s':>10} "
          f"{'ratio':>6} {'load MB':>8}")
    for size, r in results.items():
        print(f"{size:>13,} {r['day_rows']:>9,} {r['load']['seconds']:>7.2f} "
              f"{r['load']['seconds'] / smallest['load']['seconds']:>6.2f} {r['reload']['seconds']:>10.2f} "
              f"{r['reload']['seconds'] / smallest['reload']['seconds']:>6.2f} {r['load']['peak_rss_mb']:>8.0f}")
    print("ratio = load time / the same load into the smallest warehouse; target <= 1.2")
    print(f"\n{'query':>40} {'rows present':>13} {'ms':>8} {'partitions read':>16}")
    for size, r in results.items():
        for name, (ms, read, total) in r["queries"].items():
            print(f"{name:>40} {size:>13,} {ms:>8.1f} {f'{read} of {total}':>16}")
    print("ms = best of five, as the analyst role; target < 100 at 10M rows")


if __name__ == "__main__":
    main()
