"""SenderGuide assets: raw landing and normalized events, per account-local day."""

from datetime import timedelta

from dagster import AssetExecutionContext, FreshnessPolicy

from pipelines.orchestration.materialize import DayPlan, daily_source_asset
from pipelines.orchestration.settings import ModelSettings
from pipelines.sources.senderguide.client import SenderGuideClient
from pipelines.sources.senderguide.mapping import CONTENT_KEYED, SOURCE, mapper_for
from pipelines.warehouse.resource import Warehouse


@daily_source_asset(
    source=SOURCE,
    raw_name="raw_interactions",
    content_keyed=CONTENT_KEYED,
    raw_table="raw.senderguide_interactions",
    # Today's partition loads every two hours (the source's schedules).
    freshness=FreshnessPolicy.time_window(fail_window=timedelta(hours=6), warn_window=timedelta(hours=4)),
    raw_description="SenderGuide interaction-data rows as received "
                    "(raw.senderguide_interactions), with the email and type asked for.",
    events_description="SenderGuide interactions in the shared model (core.message_events where "
                       "source = 'senderguide'): lower-cased emails, UTC times, canonical types.",
    fetched_landed="total_rows reconciles: the rows of pages 1..total_pages (held to page 1's "
                   "total_rows by the walk) are all landed, quarantined, duplicates or "
                   "another day's",
)
def senderguide_load(context: AssetExecutionContext, senderguide: SenderGuideClient,
                     warehouse: Warehouse, model_settings: ModelSettings) -> DayPlan:
    """For every configured email and interaction type, pages 1..total_pages of the
    partition's account-local day (order=asc), checked against total_rows; merged in one
    transaction per day."""
    # The day is the account's: fromDate = the partition's date in its zone, toDate the next
    # (toDate's inclusivity is undocumented, see the client); the loader keeps the day's records.
    return DayPlan(senderguide, warehouse, mapper_for(senderguide, model_settings), zone=senderguide.zone)
