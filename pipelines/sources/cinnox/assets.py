"""CINNOX assets: raw landing and normalized events, loaded together per UTC day.

A partition is the UTC day a campaign was sent: every recipient row of the campaign belongs
to it, whatever its own last-updated time. Recipient statuses keep changing for days after
the send (SMS Pending -> Submitted -> Delivered, WhatsApp Pending -> Delivered -> Read), so
the last 7 partitions are re-pulled nightly (the lookback schedule, declared with the source
in `__init__.py`). A re-pull updates changed rows in place
(same event_id, new status and loaded_at) and leaves unchanged rows untouched."""

from datetime import timedelta

from dagster import AssetExecutionContext, FreshnessPolicy

from pipelines.orchestration.materialize import DayPlan, daily_source_asset
from pipelines.orchestration.settings import ModelSettings
from pipelines.sources.cinnox.client import CinnoxClient
from pipelines.sources.cinnox.mapping import SOURCE, mapper_for
from pipelines.warehouse.resource import Warehouse


@daily_source_asset(
    source=SOURCE,
    raw_name="raw_campaign_recipients",
    raw_table="raw.cinnox_campaign_recipients",
    # Today's partition loads every hour (the source's schedules).
    freshness=FreshnessPolicy.time_window(fail_window=timedelta(hours=3), warn_window=timedelta(hours=2)),
    raw_description="CINNOX sent-campaign detail rows as received, one per recipient "
                    "(raw.cinnox_campaign_recipients), with the campaign's historyID, name, "
                    "channel and send date from the summary as context.",
    events_description="CINNOX campaign recipients in the shared model (core.message_events "
                       "where source = 'cinnox'): channel sms or whatsapp, outbound, E.164 "
                       "recipients, the send time in UTC, message_id = historyID, campaign_id = "
                       "the created campaign's id, failedReason split into error code and reason.",
)
def cinnox_load(context: AssetExecutionContext, cinnox: CinnoxClient, warehouse: Warehouse,
                model_settings: ModelSettings) -> DayPlan:
    """For each UTC day of the range, list the SMS and WhatsApp campaigns sent that day
    (sent-campaigns-summary), then page through each campaign's recipients
    (sent-campaigns-detail); stage with COPY and merge each day in one transaction. Statuses
    keep changing for days: the lookback schedule re-runs the last 7 partitions nightly, so
    that changed rows are updated in place."""
    # No time check (zone None): a recipient row belongs to its campaign's send day, decided by
    # the summary request, whatever its own timestamps say.
    return DayPlan(cinnox, warehouse, mapper_for(cinnox, model_settings), zone=None)
