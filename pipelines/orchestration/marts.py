"""The marts as Dagster assets, following every source's normalized events automatically (eager
automation), so the graph shows what analysts read.

Two kinds: views over core, always as fresh as it (a materialization checks they read and
records their size), and tables the same step refreshes after the loads, incrementally: only
the days the loads touched since the last refresh, in UTC and in the reporting zone
(pipelines/warehouse/mart_refresh.py). Every table records its rows, when it was refreshed, the
newest event it holds, and how it was refreshed; a freshness policy says when it is late."""

from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any

import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSelection,
    AssetSpec,
    AutomationCondition,
    AutomationConditionSensorDefinition,
    Config,
    DefaultSensorStatus,
    FreshnessPolicy,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableSchema,
    multi_asset,
)
from pydantic import Field
from sqlalchemy import text

from pipelines.orchestration.materialize import OWNERS
from pipelines.orchestration.settings import ReportingSettings
from pipelines.warehouse.mart_refresh import MART_TABLES, MartRefresh, refresh_marts
from pipelines.warehouse.queries import query
from pipelines.warehouse.resource import Warehouse

VIEWS = {
    "daily_events": "Events per UTC day, source, channel, direction, event type and campaign "
                    "(marts.daily_events).",
    "campaign_performance": "Per campaign: recipients sent, delivered, failed, opened and clicked, "
                            "with delivery and open rates (marts.campaign_performance).",
    "recipient_message_status": "Per recipient and message: the latest status "
                                "(marts.recipient_message_status).",
    "status_transitions": "Every change of an event's vendor status a load saw, from the status "
                          "history (marts.status_transitions).",
}
TABLES = {
    "volume_daily": "Events per day (UTC and reporting zone), source, channel, direction and "
                    "event type (marts.volume_daily).",
    "volume_hourly": "Events per hour (UTC and reporting zone), source, channel, direction and "
                     "event type (marts.volume_hourly).",
    "failures_daily": "Failed messages per day by error code, reason, network and carrier status, "
                      "with failure rates (marts.failures_daily).",
    "engagement_by_hour": "Opens, clicks and replies per day and hour of the reporting zone, with "
                          "their weekday (marts.engagement_by_hour).",
    "opt_outs_daily": "Unsubscribes, DND additions and removals and STOP-like replies per day and "
                      "campaign (marts.opt_outs_daily).",
    "message_latency": "Per outbound message: sent, delivered and first engaged at, from the status "
                       "history (marts.message_latency).",
    "campaign_delivery_latency": "Per campaign, beside the funnel: delivery and engagement latency "
                                 "percentiles (marts.campaign_delivery_latency).",
    "customer_360": "Per recipient (pseudonymized): activity in brief and the latest event on each "
                    "channel (marts.customer_360).",
}
assert tuple(TABLES) == MART_TABLES  # one list of the tables, in the refresh's order

# The loads run hourly (every 30 minutes for Webex) and the marts follow them within minutes; a
# mart table not refreshed for this long has missed loads.
TABLE_FRESHNESS = FreshnessPolicy.time_window(fail_window=timedelta(hours=4), warn_window=timedelta(hours=2))


class MartsConfig(Config):
    """How a refresh of the mart tables runs."""

    full_refresh: bool = Field(default=False, description=(
        "rebuild every mart table from core instead of the days loads touched (as after a change "
        "made to core outside the loads)"))


def marts_assets(upstream: Sequence[AssetKey]) -> AssetsDefinition:
    """The marts, following every source's normalized events (`upstream`)."""
    views = [AssetSpec(AssetKey(["marts", name]), deps=upstream, description=description,
                       group_name="marts", owners=OWNERS, kinds={"postgres"},
                       metadata={"dagster/table_name": f"marts.{name}"},
                       automation_condition=AutomationCondition.eager())
             for name, description in VIEWS.items()]
    tables = [AssetSpec(AssetKey(["marts", name]), deps=upstream, description=description,
                        group_name="marts", owners=OWNERS, kinds={"postgres", "table"},
                        metadata={"dagster/table_name": f"marts.{name}"},
                        freshness_policy=TABLE_FRESHNESS,
                        automation_condition=AutomationCondition.eager())
              for name, description in TABLES.items()]

    @multi_asset(name="marts", specs=[*views, *tables], can_subset=True)
    def marts(context: AssetExecutionContext, config: MartsConfig, warehouse: Warehouse,
              reporting: ReportingSettings) -> Iterator[MaterializeResult[Any]]:
        """Views are as fresh as core: their materialization reports their size and the top
        campaigns. Tables are refreshed together, in one transaction, with the days the loads
        touched since the last refresh (any table selected refreshes them all: they share the
        loads' marks and one snapshot of core)."""
        selected = {key.path[-1] for key in context.selected_asset_keys}
        if selected & set(TABLES):
            yield from _refresh_tables(context, warehouse, reporting, config, selected)
        if selected & set(VIEWS):
            yield from _report_views(warehouse, selected)

    return marts


def _refresh_tables(context: AssetExecutionContext, warehouse: Warehouse, reporting: ReportingSettings,
                    config: MartsConfig, selected: set[str]) -> Iterator[MaterializeResult[Any]]:
    with warehouse.connect() as conn:
        refresh = refresh_marts(conn, reporting.timezone, run_id=context.run_id,
                                full=config.full_refresh)
    context.log.info(f"mart tables refreshed ({refresh.mode}) in {refresh.time_zone}: "
                     f"{len(refresh.utc_days)} UTC days recomputed")
    schemas = _column_schemas(warehouse)
    for name in TABLES:
        if name in selected:
            yield MaterializeResult(asset_key=AssetKey(["marts", name]),
                                    metadata=_table_metadata(refresh, name, schemas.get(name)))


def _table_metadata(refresh: MartRefresh, name: str, schema: TableSchema | None) -> dict[str, Any]:
    days = refresh.utc_days
    metadata: dict[str, Any] = {
        "dagster/row_count": refresh.rows[name],
        "last_refreshed_at": MetadataValue.timestamp(refresh.refreshed_at),
        "refresh": refresh.mode,
        "reporting_time_zone": refresh.time_zone,
        "utc_days_recomputed": len(days),
        "utc_days_span": f"{days[0].isoformat()} .. {days[-1].isoformat()}" if days else "none",
    }
    if refresh.newest_event_at is not None:
        metadata["newest_event_at"] = MetadataValue.timestamp(refresh.newest_event_at)
    if schema is not None:
        metadata["dagster/column_schema"] = schema
    return metadata


def _column_schemas(warehouse: Warehouse) -> dict[str, TableSchema]:
    """Each mart table's columns with their meaning, from the migration's COMMENTs (the one
    place they are written)."""
    with warehouse.engine().connect() as conn:
        columns = conn.execute(text(query("marts_columns"))).all()
    schemas: dict[str, list[TableColumn]] = {}
    for table, column, column_type, description in columns:
        schemas.setdefault(table, []).append(TableColumn(column, column_type, description=description))
    return {table: TableSchema(columns=table_columns) for table, table_columns in schemas.items()}


def _report_views(warehouse: Warehouse, selected: set[str]) -> Iterator[MaterializeResult[Any]]:
    with warehouse.engine().connect() as conn:
        sizes = conn.execute(text(query("marts_summary"))).one()
        top = pd.read_sql(text(query("marts_campaigns_preview")), conn)
    metadata = {
        "daily_events": {"rows": sizes.daily_events_rows},
        "campaign_performance": {"campaigns": sizes.campaigns,
                                 "top_campaigns": MetadataValue.md(top.to_markdown(index=False))},
        "recipient_message_status": {},
        "status_transitions": {"dagster/row_count": sizes.transitions},
    }
    for name in VIEWS:
        if name in selected:
            yield MaterializeResult(asset_key=AssetKey(["marts", name]), metadata=metadata[name])


# Dagster's own automation sensor starts stopped; this one runs from the start, so the marts
# refresh after any source loads without anyone turning anything on.
marts_follow_sources = AutomationConditionSensorDefinition(
    "marts_follow_sources", target=AssetSelection.groups("marts"),
    default_status=DefaultSensorStatus.RUNNING, minimum_interval_seconds=60,
    description="Refreshes the marts when any source's normalized events change.")
