"""mGage assets: raw landing and normalized events, loaded together per UTC day."""

from datetime import UTC, timedelta

from dagster import AssetExecutionContext, FreshnessPolicy

from pipelines.orchestration.materialize import DayPlan, daily_source_asset
from pipelines.orchestration.settings import ModelSettings
from pipelines.sources.mgage.client import MgageClient
from pipelines.sources.mgage.mapping import CONTENT_KEYED, DAY_IN_KEY, SOURCE, mapper_for
from pipelines.warehouse.resource import Warehouse


@daily_source_asset(
    source=SOURCE,
    raw_name="raw_messages",
    content_keyed=CONTENT_KEYED,
    day_in_key=DAY_IN_KEY,
    raw_table="raw.mgage_messages",
    # Today's partition loads several times an hour or two (the source's schedules).
    freshness=FreshnessPolicy.time_window(fail_window=timedelta(hours=3), warn_window=timedelta(hours=2)),
    raw_description="mGage MT and MO messages as exported, one row per message "
                    "(raw.mgage_messages), with the program and type they were asked for.",
    events_description="mGage messages in the shared model (core.message_events where "
                       "source = 'mgage'): E.164 recipients, UTC times, canonical event types.",
)
def mgage_load(context: AssetExecutionContext, mgage: MgageClient, warehouse: Warehouse,
               model_settings: ModelSettings) -> DayPlan:
    """Walk every configured program, MT and MO, page by page, for each UTC day of the range;
    stage with COPY and merge each day in one transaction."""
    return DayPlan(mgage, warehouse, mapper_for(mgage, model_settings), zone=UTC)  # mGage dates are GMT
