"""SenderGuide email interaction data: sends, opens, clicks, bounces, unsubscribes per email."""

from pipelines.orchestration.source import Role, Setting, daily_source
from pipelines.sources.senderguide.assets import senderguide_load
from pipelines.sources.senderguide.client import SenderGuideClient
from pipelines.sources.senderguide.mapping import CONTENT_KEYED, MAPPING_VERSION, mapper_for

DEFINITION = daily_source(
    name="senderguide",
    resource=SenderGuideClient,
    settings=(
        Setting("SENDERGUIDE_API_KEY", "api_key", Role.CREDENTIAL),
        Setting("SENDERGUIDE_BASE_URL", "base_url", Role.REQUIRED),
        Setting("SENDERGUIDE_MESSAGE_IDS", "message_ids", Role.REQUIRED),
        Setting("SENDERGUIDE_INTERACTION_TYPES", "interaction_types"),
        # The vendor's own zone: required against the vendor (never assumed UTC).
        Setting("SENDERGUIDE_TIMEZONE", "timezone", Role.REQUIRED),
    ),
    load=senderguide_load,
    mapper_for=mapper_for,
    mapping_version=MAPPING_VERSION,
    content_keyed=CONTENT_KEYED,
    raw_table="raw.senderguide_interactions",
    job_description="Load SenderGuide email interactions for the selected account-local days.",
    # Opens and clicks of recent sends keep arriving for a few days.
    today_cron="20 */2 * * *",
    lookback_days=3,
    lookback_cron="30 2 * * *",
)
