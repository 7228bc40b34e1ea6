"""Asset checks every source runs after its load, over what that run loaded.

Blocking checks protect the warehouse (a failure stops anything downstream in the run):
unique event ids, required columns present, raw and normalized rows reconciling partition by
partition. Warnings report what needs a person: unmapped statuses, quarantined records."""

from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pandas as pd
import psycopg
from dagster import AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetKey, MetadataValue

from pipelines.warehouse.queries import fetch_one, query, query_with_table

UNIQUE = "unique_event_id"
REQUIRED = "required_columns_present"
RECONCILES = "raw_and_events_reconcile"
UNKNOWN = "no_unknown_statuses"
QUARANTINE = "no_quarantined_records"
FETCHED_LANDED = "fetched_rows_landed"
TRUNCATIONS = "no_truncated_days"


def check_specs(raw_key: AssetKey, events_key: AssetKey) -> list[AssetCheckSpec]:
    return [
        AssetCheckSpec(UNIQUE, asset=events_key, blocking=True,
                       description="event_id is unique over the loaded partitions"),
        AssetCheckSpec(REQUIRED, asset=events_key, blocking=True,
                       description="channel, direction, event_type, occurred_at and recipient "
                                   "are present on every loaded event"),
        AssetCheckSpec(RECONCILES, asset=events_key, blocking=True, additional_deps=[raw_key],
                       description="each loaded partition has as many raw records as events"),
        AssetCheckSpec(UNKNOWN, asset=events_key,
                       description="every vendor status maps to an event type (unmapped ones "
                                   "load as 'unknown': add them to core.event_type_map)"),
        AssetCheckSpec(QUARANTINE, asset=raw_key,
                       description="no record of the loaded partitions is held in ops.quarantine"),
    ]


def run_checks(conn: psycopg.Connection, source: str, raw_table: str, raw_key: AssetKey,
               events_key: AssetKey, days: list[date] | None) -> Iterator[AssetCheckResult]:
    """The checks of `check_specs`, over `days` (all of the source's rows when None)."""
    params = {"source": source, "days": days}
    events, duplicates, missing, unknown, unknown_values = fetch_one(conn.execute(
        query("check_events"), params))
    yield AssetCheckResult(asset_key=events_key, check_name=UNIQUE, passed=duplicates == 0,
                           metadata={"events": events, "duplicate_ids": duplicates})
    yield AssetCheckResult(asset_key=events_key, check_name=REQUIRED, passed=missing == 0,
                           metadata={"events": events, "rows_missing_a_required_value": missing})
    disagreeing = conn.execute(query_with_table("check_reconcile", raw_table=raw_table), params).fetchall()
    yield AssetCheckResult(asset_key=events_key, check_name=RECONCILES, passed=not disagreeing,
                           metadata={"partitions_disagreeing": len(disagreeing),
                                     "details": _table(disagreeing, ["partition_date", "raw_rows", "event_rows"])})
    yield AssetCheckResult(asset_key=events_key, check_name=UNKNOWN, passed=unknown == 0,
                           severity=AssetCheckSeverity.WARN,
                           metadata={"unknown_status_events": unknown,
                                     "unmapped_values": ", ".join(map(str, unknown_values))[:1000]})
    quarantined = conn.execute(query("check_quarantine"), params).fetchall()
    total = sum(count for _, count in quarantined)
    yield AssetCheckResult(asset_key=raw_key, check_name=QUARANTINE, passed=total == 0,
                           severity=AssetCheckSeverity.WARN,
                           metadata={"quarantined": total,
                                     "by_reason": _table(quarantined[:20], ["reason", "records"])})


def fetched_landed_spec(raw_key: AssetKey, description: str) -> AssetCheckSpec:
    """Every row a daily load fetched is landed, quarantined, a duplicate, or another day's."""
    return AssetCheckSpec(FETCHED_LANDED, asset=raw_key, blocking=True, description=description)


def check_fetched_landed(conn: psycopg.Connection, source: str, raw_table: str, raw_key: AssetKey,
                         days: list[date]) -> AssetCheckResult:
    disagreeing = conn.execute(query_with_table("check_fetched_landed", raw_table=raw_table),
                               {"source": source, "days": days}).fetchall()
    return AssetCheckResult(
        asset_key=raw_key, check_name=FETCHED_LANDED, passed=not disagreeing,
        metadata={"partitions_disagreeing": len(disagreeing), "details": _table(
            disagreeing, ["partition_date", "records_fetched", "duplicates", "quarantined",
                          "out_of_window", "landed"])})


def truncations_spec(raw_key: AssetKey) -> AssetCheckSpec:
    return AssetCheckSpec(TRUNCATIONS, asset=raw_key, description=(
        "no key-day filled a whole Webex answer on its own (ops.webex_truncations): on such "
        "days older transactions may be missing"))


def check_truncations(conn: psycopg.Connection, raw_key: AssetKey,
                      hide: Callable[[str], str]) -> AssetCheckResult:
    """Webex days cut short; the keys shown by their pseudonyms (`hide`)."""
    truncated = [(hide(key), *rest) for key, *rest in conn.execute(query("check_webex_truncations"))]
    return AssetCheckResult(
        asset_key=raw_key, check_name=TRUNCATIONS, passed=not truncated,
        severity=AssetCheckSeverity.WARN,
        metadata={"truncated_days": len(truncated),
                  "latest": _table(truncated[:20], ["key", "local_date", "returned"])})


def _table(rows: list[tuple[Any, ...]], columns: list[str]) -> MetadataValue:
    if not rows:
        return MetadataValue.md("none")
    return MetadataValue.md(pd.DataFrame(rows, columns=columns).to_markdown(index=False))
