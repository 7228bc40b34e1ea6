"""The body every day-partitioned source asset shares: load each day of the run's partition
range in its own transaction, then report what happened to Dagster."""

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date

import pandas as pd
from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue
from sqlalchemy import text

from pipelines.core.http import VendorError, VendorHttp
from pipelines.core.paging import Page
from pipelines.core.partitions import partition_dates
from pipelines.warehouse.loading import LoadStats, LoadTarget, Mapper, load_pages
from pipelines.warehouse.queries import query
from pipelines.warehouse.resource import Warehouse

_TOTALS = ("pages", "records_fetched", "inserted", "updated", "unchanged", "duplicates",
           "quarantined", "unknown_status", "out_of_window")


@dataclass
class RangeLoad:
    """The outcome of loading a run's partition range."""

    days: list[LoadStats] = field(default_factory=list)
    api_calls: int = 0
    retries: int = 0
    duration_s: float = 0.0

    def total(self, name: str) -> int:
        return sum(getattr(day, name) for day in self.days)


def load_partition_range(context: AssetExecutionContext, warehouse: Warehouse, http: VendorHttp,
                         target: LoadTarget, day_pages: Callable[[date], Iterable[Page]],
                         mapper: Mapper) -> RangeLoad:
    """Load every day of the run's partitions, one transaction per day."""
    started = time.monotonic()
    outcome = RangeLoad()
    with warehouse.connect() as conn:
        for day in partition_dates(context.partition_keys):
            try:
                stats = load_pages(conn, target, day, day_pages(day), mapper,
                                   run_id=context.run_id)
            except VendorError as error:
                error.add_note(f"while loading {target.source} partition {day.isoformat()}")
                raise
            outcome.days.append(stats)
            context.log.info(
                f"{target.source} {day}: {stats.records_fetched} records in {stats.pages} pages; "
                f"{stats.inserted} inserted, {stats.updated} updated, {stats.unchanged} unchanged, "
                f"{stats.quarantined} quarantined")
            if stats.quarantined:
                context.log.warning(f"{target.source} {day}: {stats.quarantined} records quarantined "
                                    "(see ops.quarantine)")
    outcome.api_calls, outcome.retries = http.calls, http.retries
    outcome.duration_s = time.monotonic() - started
    return outcome


def range_results(warehouse: Warehouse, target: LoadTarget, raw_key: AssetKey,
                  events_key: AssetKey, outcome: RangeLoad) -> tuple[MaterializeResult, MaterializeResult]:
    """Materialization metadata for the raw landing asset and the normalized events asset."""
    common = {
        "partitions": len(outcome.days),
        "api_calls": outcome.api_calls,
        "retries": outcome.retries,
        "duration_s": round(outcome.duration_s, 2),
    } | {name: outcome.total(name) for name in _TOTALS}
    per_day = pd.DataFrame([day.as_metadata() for day in outcome.days])
    raw_meta = common | {"per_partition": MetadataValue.md(per_day.to_markdown(index=False))}
    events_meta = dict(common)
    if outcome.days:
        with warehouse.engine().connect() as conn:
            preview = pd.read_sql(text(query("preview_events")), conn, params={
                "source": target.source,
                "first_day": min(day.partition_date for day in outcome.days),
                "last_day": max(day.partition_date for day in outcome.days),
            })
        events_meta["preview"] = MetadataValue.md(preview.to_markdown(index=False))
    return (MaterializeResult(asset_key=raw_key, metadata=raw_meta),
            MaterializeResult(asset_key=events_key, metadata=events_meta))
