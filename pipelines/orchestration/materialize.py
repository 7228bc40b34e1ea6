"""The asset every day-partitioned source shares: for each day of the run's partition range,
walk the vendor's pages and load them as one scope (one transaction), then report to Dagster.
A source supplies its client resource, its mapper and its day's time zone; nothing else."""

import functools
import inspect
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, tzinfo
from typing import Any, Protocol

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    BackfillPolicy,
    FreshnessPolicy,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableSchema,
    multi_asset,
)
from sqlalchemy import text

from pipelines.model.events import EVENT_COLUMNS
from pipelines.orchestration.checks import (
    check_fetched_landed,
    check_specs,
    fetched_landed_spec,
    run_checks,
)
from pipelines.orchestration.partitions import DAILY_PARTITIONS, partition_dates
from pipelines.orchestration.run_workers import record_worker
from pipelines.transport.http import VendorError, VendorHttp
from pipelines.transport.paging import Page
from pipelines.warehouse.loading import LoadScope, LoadStats, LoadTarget, Mapper, Stamp, load_pages
from pipelines.warehouse.queries import query
from pipelines.warehouse.resource import Warehouse

OWNERS = ["team:data-engineering"]

RAW_SCHEMA = TableSchema(columns=[
    TableColumn("record_id", "text", description="event_id of the normalized row it produced"),
    TableColumn("partition_date", "date", description="the partition that loads it"),
    TableColumn("context", "jsonb", description="the request it answered (program, key, type...)"),
    TableColumn("payload", "jsonb", description="the vendor record, whole"),
    TableColumn("first_loaded_at", "timestamptz"),
    TableColumn("loaded_at", "timestamptz", description="last time its payload changed"),
])
EVENTS_SCHEMA = TableSchema(columns=[
    TableColumn(column.name, column.pg_type, description=column.description)
    for column in EVENT_COLUMNS])
_TOTALS = ("pages", "records_fetched", "inserted", "updated", "unchanged", "duplicates",
           "quarantined", "unknown_status", "out_of_window")


class DaySession(Protocol):
    """An open connection to a day-partitioned vendor."""

    http: VendorHttp

    def day_pages(self, day: date) -> Iterator[Page]: ...


class DayClient(Protocol):
    @property
    def sandbox(self) -> bool: ...

    def session(self) -> AbstractContextManager[DaySession]: ...


@dataclass(frozen=True)
class DayPlan:
    """What a day-partitioned source's asset hands the shared load: its typed resources, its
    mapper, and the zone its days are read in (None: membership comes from the request)."""

    client: DayClient
    warehouse: Warehouse
    mapper: Mapper
    zone: tzinfo | None


@dataclass
class RangeLoad:
    """The outcome of loading a run's scopes."""

    loads: list[LoadStats] = field(default_factory=list)
    api_calls: int = 0
    retries: int = 0
    duration_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def total(self, name: str) -> int:
        return sum(getattr(load, name) for load in self.loads)

    def days(self) -> tuple[date, date] | None:
        """The first and last partition days the run's loads were for."""
        spans = [load.days for load in self.loads if load.days is not None]
        if not spans:
            return None
        return min(first for first, _ in spans), max(last for _, last in spans)

    def metadata(self) -> dict[str, Any]:
        return {"scopes": len(self.loads), "api_calls": self.api_calls, "retries": self.retries,
                "duration_s": round(self.duration_s, 2)} | {
                    name: self.total(name) for name in _TOTALS} | self.extra


def log_load(context: AssetExecutionContext, stats: LoadStats) -> None:
    context.log.info(
        f"{stats.source} {stats.scope}: {stats.records_fetched} records in {stats.pages} pages; "
        f"{stats.inserted} inserted, {stats.updated} updated, {stats.unchanged} unchanged, "
        f"{stats.quarantined} quarantined, {stats.unknown_status} unknown status")
    if stats.quarantined:
        context.log.warning(f"{stats.source} {stats.scope}: {stats.quarantined} records "
                            "quarantined (see ops.quarantine)")


def load_day_range(context: AssetExecutionContext, warehouse: Warehouse, api: DaySession,
                   target: LoadTarget, mapper: Mapper, zone: tzinfo | None, stamp: Stamp) -> RangeLoad:
    """Load every day of the run's partitions, one transaction per day."""
    started = time.monotonic()
    outcome = RangeLoad()
    with warehouse.connect() as conn:
        for day in partition_dates(context.partition_keys):
            try:
                stats = load_pages(conn, LoadScope.day(target, day, zone), api.day_pages(day),
                                   mapper, stamp=stamp, run_id=context.run_id)
            except VendorError as error:
                error.add_note(f"while loading {target.source} partition {day.isoformat()}")
                raise
            outcome.loads.append(stats)
            log_load(context, stats)
    outcome.api_calls, outcome.retries = api.http.calls, api.http.retries
    outcome.duration_s = time.monotonic() - started
    return outcome


def results(warehouse: Warehouse, source: str, raw_key: AssetKey, events_key: AssetKey,
            outcome: RangeLoad, *, scope_rows: int | None = None
            ) -> tuple[MaterializeResult[Any], MaterializeResult[Any]]:
    """Materialization metadata for the raw landing asset and the normalized events asset.

    `scope_rows` caps the per-scope table (a run of thousands of scopes): the scopes that
    changed most are shown, and how many were left out."""
    common = outcome.metadata()
    loads = outcome.loads
    if scope_rows is not None and len(loads) > scope_rows:
        loads = sorted(loads, key=lambda load: (load.quarantined + load.unknown_status,
                                                load.inserted + load.updated,
                                                load.records_fetched), reverse=True)[:scope_rows]
    per_scope = pd.DataFrame([load.as_metadata() for load in loads])
    table = per_scope.to_markdown(index=False)
    if len(loads) < len(outcome.loads):
        table += f"\n\n… and {len(outcome.loads) - len(loads)} more scopes with fewer changes"
    raw_meta = common | {"per_scope": MetadataValue.md(table)}
    first, last = outcome.days() or (date.max, date.min)  # no load: an empty preview
    with warehouse.engine().connect() as conn:
        preview = pd.read_sql(text(query("preview_events")), conn, params={
            "source": source, "first": first, "last": last})
    events_meta = common | {"preview": MetadataValue.md(preview.to_markdown(index=False))}
    return (MaterializeResult(asset_key=raw_key, metadata=raw_meta),
            MaterializeResult(asset_key=events_key, metadata=events_meta))


def source_specs(source: str, raw_name: str, raw_table: str, raw_description: str,
                 events_description: str, freshness: FreshnessPolicy | None = None,
                 deps: Sequence[AssetKey] = ()) -> tuple[AssetSpec, AssetSpec]:
    """The two assets of a source: its raw landing table (reading `deps`, assets the source
    keeps itself) and its slice of the shared model, with the column schema of each (shown in
    the UI) and the source's freshness policy."""
    raw_key, events_key = AssetKey([source, raw_name]), AssetKey([source, "message_events"])
    return (
        AssetSpec(raw_key, deps=list(deps), description=raw_description, group_name=source, owners=OWNERS,
                  kinds={"python", "postgres"}, freshness_policy=freshness,
                  metadata={"dagster/column_schema": RAW_SCHEMA,
                            "dagster/table_name": raw_table}),
        AssetSpec(events_key, deps=[raw_key], description=events_description, group_name=source,
                  owners=OWNERS, kinds={"postgres"}, freshness_policy=freshness,
                  metadata={"dagster/column_schema": EVENTS_SCHEMA,
                            "dagster/table_name": "core.message_events"}),
    )


FETCHED_LANDED_DESCRIPTION = (
    "every record the load fetched is landed, quarantined, a duplicate, or another day's "
    "(outside the day's window, left to that day's load)")


def daily_source_asset(*, source: str, raw_name: str, raw_table: str, raw_description: str,
                       events_description: str, freshness: FreshnessPolicy,
                       content_keyed: bool = False, day_in_key: bool = False,
                       fetched_landed: str = FETCHED_LANDED_DESCRIPTION,
                       ) -> Callable[[Callable[..., DayPlan]], AssetsDefinition]:
    """A day-partitioned source's multi-asset: raw landing and normalized events, loaded in one
    pass per day; a range of days runs as one run (one transaction per day), then checked.

    It decorates the source's own function, which receives its typed resources by name (the
    client under the source's name, `warehouse`, `model_settings`) and returns its DayPlan; its
    docstring is the asset's description. `content_keyed`: the source's records have no id;
    `day_in_key`: a record's day follows from its key, so it never moves between days (both:
    see LoadTarget). `fetched_landed` describes the check that every fetched row is accounted
    for, where the source holds its walk to more (SenderGuide's announced total)."""
    raw_spec, events_spec = source_specs(source, raw_name, raw_table, raw_description,
                                         events_description, freshness)
    target = LoadTarget(source=source, raw_table=raw_table, content_keyed=content_keyed,
                        day_in_key=day_in_key)
    checks = [*check_specs(raw_spec.key, events_spec.key), fetched_landed_spec(raw_spec.key, fetched_landed)]

    def decorate(plan: Callable[..., DayPlan]) -> AssetsDefinition:
        @multi_asset(name=f"{source}_load", specs=[raw_spec, events_spec], check_specs=checks,
                     partitions_def=DAILY_PARTITIONS, backfill_policy=BackfillPolicy.single_run(),
                     pool=source, description=inspect.getdoc(plan))
        @functools.wraps(plan)  # Dagster reads the resources from the plan's own signature
        def load(context: AssetExecutionContext, **resources: Any
                 ) -> Iterable[MaterializeResult[Any] | AssetCheckResult]:
            record_worker(context.instance, context.run_id)
            day_plan = plan(context, **resources)
            warehouse = day_plan.warehouse
            with day_plan.client.session() as api:
                outcome = load_day_range(context, warehouse, api, target, day_plan.mapper,
                                         day_plan.zone, warehouse.stamp(sandbox=day_plan.client.sandbox))
            yield from results(warehouse, source, raw_spec.key, events_spec.key, outcome)
            days = partition_dates(context.partition_keys)
            with warehouse.connect() as conn:
                yield from run_checks(conn, source, raw_table, raw_spec.key, events_spec.key, days)
                yield check_fetched_landed(conn, source, raw_table, raw_spec.key, days)

        return load

    return decorate
