"""mGage SMS Campaign Manager export: sent (MT) and received (MO) SMS per program."""

from pipelines.orchestration.source import Role, Setting, daily_source
from pipelines.sources.mgage.assets import mgage_load
from pipelines.sources.mgage.client import MgageClient
from pipelines.sources.mgage.mapping import CONTENT_KEYED, MAPPING_VERSION, mapper_for

DEFINITION = daily_source(
    name="mgage",
    resource=MgageClient,
    settings=(
        Setting("MGAGE_BASE_URL", "base_url"),
        Setting("MGAGE_USERNAME", "username", Role.CREDENTIAL),
        Setting("MGAGE_PASSWORD", "password", Role.CREDENTIAL),
        Setting("MGAGE_PROGRAM_IDS", "program_ids", Role.REQUIRED),
        Setting("MGAGE_TIME_SLICES", "time_slices"),
    ),
    load=mgage_load,
    mapper_for=mapper_for,
    mapping_version=MAPPING_VERSION,
    content_keyed=CONTENT_KEYED,
    raw_table="raw.mgage_messages",
    job_description="Load mGage SMS for the selected UTC days.",
    # Today's partition fills during the day; Sent -> Delivered keeps moving for a few days.
    today_cron="5 * * * *",
    lookback_days=3,
    lookback_cron="15 2 * * *",
    # Message content, removed after PIPELINES_RETENTION_DAYS.
    content_fields=("body",),
)
