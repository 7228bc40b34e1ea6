"""The marts as Dagster assets: views over core.message_events that follow every source's
normalized events automatically (eager automation), so the graph shows what analysts read and
each refresh records how big the marts are and what the top campaigns look like."""

from collections.abc import Iterator, Sequence
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
    DefaultSensorStatus,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)
from sqlalchemy import text

from pipelines.orchestration.materialize import OWNERS
from pipelines.warehouse.queries import query
from pipelines.warehouse.resource import Warehouse

MARTS = {
    "daily_events": "Events per UTC day, source, channel, direction, event type and campaign "
                    "(marts.daily_events).",
    "campaign_performance": "Per campaign: recipients sent, delivered, failed, opened and clicked, "
                            "with delivery and open rates (marts.campaign_performance).",
    "recipient_message_status": "Per recipient and message: the latest status "
                                "(marts.recipient_message_status).",
}


def marts_assets(upstream: Sequence[AssetKey]) -> AssetsDefinition:
    """The marts, following every source's normalized events (`upstream`)."""

    @multi_asset(
        name="marts",
        specs=[AssetSpec(AssetKey(["marts", name]), deps=upstream, description=description,
                         group_name="marts", owners=OWNERS, kinds={"postgres"},
                         automation_condition=AutomationCondition.eager())
               for name, description in MARTS.items()],
        can_subset=True,
    )
    def marts(context: AssetExecutionContext, warehouse: Warehouse) -> Iterator[MaterializeResult[Any]]:
        """The marts are views, always as fresh as core: a refresh checks they read and reports
        their size and the top campaigns."""
        yield from _refresh(context, warehouse)

    return marts


def _refresh(context: AssetExecutionContext, warehouse: Warehouse) -> Iterator[MaterializeResult[Any]]:
    with warehouse.engine().connect() as conn:
        sizes = conn.execute(text(query("marts_summary"))).one()
        top = pd.read_sql(text(query("marts_campaigns_preview")), conn)
    metadata = {
        "daily_events": {"rows": sizes.daily_events_rows},
        "campaign_performance": {"campaigns": sizes.campaigns,
                                 "top_campaigns": MetadataValue.md(top.to_markdown(index=False))},
        "recipient_message_status": {},
    }
    for key in context.selected_asset_keys:
        yield MaterializeResult(asset_key=key, metadata=metadata[key.path[-1]])


# Dagster's own automation sensor starts stopped; this one runs from the start, so the marts
# refresh after any source loads without anyone turning anything on.
marts_follow_sources = AutomationConditionSensorDefinition(
    "marts_follow_sources", target=AssetSelection.groups("marts"),
    default_status=DefaultSensorStatus.RUNNING, minimum_interval_seconds=60,
    description="Refreshes the marts when any source's normalized events change.")
