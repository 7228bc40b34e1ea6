"""CINNOX sent campaigns: the recipients of every SMS and WhatsApp campaign sent, per UTC day."""

from pipelines.orchestration.source import Role, Setting, daily_source
from pipelines.sources.cinnox.assets import cinnox_load
from pipelines.sources.cinnox.client import CinnoxClient
from pipelines.sources.cinnox.mapping import CONTENT_KEYED, MAPPING_VERSION, mapper_for

DEFINITION = daily_source(
    name="cinnox",
    resource=CinnoxClient,
    settings=(
        Setting("CINNOX_APP_TOKEN", "app_token", Role.CREDENTIAL),
        Setting("CINNOX_BASE_URL", "base_url", Role.REQUIRED),
        Setting("CINNOX_APP_ID", "app_id", Role.REQUIRED),
    ),
    load=cinnox_load,
    mapper_for=mapper_for,
    mapping_version=MAPPING_VERSION,
    content_keyed=CONTENT_KEYED,
    raw_table="raw.cinnox_campaign_recipients",
    job_description="Load CINNOX sent campaigns (SMS and WhatsApp) and their recipients' "
                    "statuses for the selected UTC days.",
    # Recipient statuses keep changing for days (Pending -> Delivered -> Read): a week of
    # partitions is re-pulled nightly.
    today_cron="35 * * * *",
    lookback_days=7,
    lookback_cron="45 2 * * *",
    # Message content, removed after PIPELINES_RETENTION_DAYS.
    content_fields=("content",),
)
