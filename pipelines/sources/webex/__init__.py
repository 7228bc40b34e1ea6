"""Webex Campaign customer transactions: the last transactions of each configured customer key
(MSISDN, email or app device id), pulled incrementally from a per-key watermark."""

from pipelines.orchestration.source import Role, Setting, incremental_source
from pipelines.sources.webex.assets import webex_load
from pipelines.sources.webex.client import WebexClient

DEFINITION = incremental_source(
    name="webex",
    resource=WebexClient,
    settings=(
        Setting("WEBEX_API_KEY", "api_key", Role.CREDENTIAL),
        Setting("WEBEX_BASE_URL", "base_url", Role.REQUIRED),
        Setting("WEBEX_KEYS", "keys", Role.REQUIRED),
        Setting("WEBEX_TIMEZONE", "timezone"),
        Setting("WEBEX_TRANSACTIONS_PATH", "transactions_path"),
        Setting("WEBEX_MAX_REQUESTS_PER_SECOND", "max_requests_per_second"),
    ),
    load=webex_load,
    raw_table="raw.webex_transactions",
    job_description="Pull every configured Webex customer key from its watermark to today.",
    cron="*/30 * * * *",
    # Message content, removed after PIPELINES_RETENTION_DAYS.
    content_fields=("msg_preview_url",),
)
