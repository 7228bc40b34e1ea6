"""Webex Campaign customer transactions: the last transactions of each followed customer key
(MSISDN, email or app device id), pulled incrementally from a per-key watermark, in shards,
each key as often as its traffic calls for and within the vendor's budget."""

from pipelines.orchestration.source import Role, Setting, SupportingAsset, incremental_source
from pipelines.sources.webex.activations import activation_action, load_activations
from pipelines.sources.webex.assets import webex_load
from pipelines.sources.webex.client import WebexClient
from pipelines.sources.webex.keys import REFRESH_CRON, webex_followed_keys
from pipelines.sources.webex.mapping import CONTENT_KEYED, MAPPING_VERSION, mapper_for

DEFINITION = incremental_source(
    name="webex",
    resource=WebexClient,
    settings=(
        Setting("WEBEX_API_KEY", "api_key", Role.CREDENTIAL),
        Setting("WEBEX_BASE_URL", "base_url", Role.REQUIRED),
        Setting("WEBEX_KEYS", "keys"),
        # The vendor's own zone: required against the vendor (never assumed UTC).
        Setting("WEBEX_TIMEZONE", "timezone", Role.REQUIRED),
        Setting("WEBEX_TRANSACTIONS_PATH", "transactions_path"),
        Setting("WEBEX_EVENTS_PATH", "events_path"),
        Setting("WEBEX_IN_DOUBT_SETTLE_HOURS", "in_doubt_settle_hours"),
        Setting("WEBEX_MAX_REQUESTS_PER_SECOND", "max_requests_per_second"),
        Setting("WEBEX_RUN_SECONDS", "run_seconds"),
        Setting("WEBEX_CONCURRENT_SHARDS", "concurrent_shards"),
        Setting("WEBEX_FOLLOW_DAYS", "follow_days"),
        Setting("WEBEX_MAX_KEY_LAG_HOURS", "max_key_lag_hours"),
    ),
    load=webex_load,
    mapper_for=mapper_for,
    mapping_version=MAPPING_VERSION,
    content_keyed=CONTENT_KEYED,
    raw_table="raw.webex_transactions",
    job_description="Pull the due Webex customer keys of a shard from their watermarks to today, "
                    "within the run's share of the vendor's budget.",
    cron="*/30 * * * *",
    # Message content, removed after PIPELINES_RETENTION_DAYS.
    content_fields=("msg_preview_url",),
    supporting=(SupportingAsset(
        webex_followed_keys, job_name="webex_keys",
        job_description="Refresh the Webex keys to follow from sql/audiences/webex_keys.sql "
                        "and WEBEX_KEYS.",
        cron=REFRESH_CRON),),
    # The data team's audiences sent back as events (sql/activations/).
    actions=tuple(activation_action(activation) for activation in load_activations()),
)
