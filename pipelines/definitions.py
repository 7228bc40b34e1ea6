"""The Dagster code location: every source's assets, resources bound to the environment."""

from dagster import AssetSelection, Definitions, EnvVar, define_asset_job

from pipelines.orchestration.partitions import DAILY_PARTITIONS
from pipelines.orchestration.run_workers import dead_run_sensor
from pipelines.orchestration.settings import ModelSettings
from pipelines.orchestration.marts import marts, marts_follow_sources
from pipelines.orchestration.schedules import every, lookback, todays_partition
from pipelines.sources.cinnox.assets import cinnox_load
from pipelines.sources.cinnox.client import CinnoxClient
from pipelines.sources.mgage.assets import mgage_load
from pipelines.sources.mgage.client import MgageClient
from pipelines.sources.senderguide.assets import senderguide_load
from pipelines.sources.senderguide.client import SenderGuideClient
from pipelines.sources.webex.assets import webex_load
from pipelines.sources.webex.client import WebexClient
from pipelines.warehouse.resource import Warehouse

# One job per source, so one vendor failing never holds back another.
mgage_job = define_asset_job("mgage_daily", selection=AssetSelection.groups("mgage"),
                             partitions_def=DAILY_PARTITIONS,
                             description="Load mGage SMS for the selected UTC days.")

senderguide_job = define_asset_job(
    "senderguide_daily", selection=AssetSelection.groups("senderguide"),
    partitions_def=DAILY_PARTITIONS,
    description="Load SenderGuide email interactions for the selected account-local days.")

cinnox_job = define_asset_job(
    "cinnox_daily", selection=AssetSelection.groups("cinnox"), partitions_def=DAILY_PARTITIONS,
    description="Load CINNOX sent campaigns (SMS and WhatsApp) and their recipients' statuses "
                "for the selected UTC days.")

webex_job = define_asset_job(
    "webex_incremental", selection=AssetSelection.groups("webex"),
    description="Pull every configured Webex customer key from its watermark to today.")

SOURCE_JOBS = {"mgage": mgage_job, "senderguide": senderguide_job, "cinnox": cinnox_job,
               "webex": webex_job}

defs = Definitions(
    assets=[mgage_load, senderguide_load, cinnox_load, webex_load, marts],
    jobs=list(SOURCE_JOBS.values()),
    schedules=[
        todays_partition(mgage_job, "5 * * * *"), lookback(mgage_job, 3, "15 2 * * *"),
        todays_partition(senderguide_job, "20 */2 * * *"), lookback(senderguide_job, 3, "30 2 * * *"),
        todays_partition(cinnox_job, "35 * * * *"), lookback(cinnox_job, 7, "45 2 * * *"),
        every(webex_job, "*/30 * * * *"),
    ],
    sensors=[marts_follow_sources, dead_run_sensor],
    resources={
        "warehouse": Warehouse(url=EnvVar("WAREHOUSE_URL")),
        "model_settings": ModelSettings(phone_default_region=EnvVar("PHONE_DEFAULT_REGION")),
        "mgage": MgageClient(
            base_url=EnvVar("MGAGE_BASE_URL"),
            username=EnvVar("MGAGE_USERNAME"),
            password=EnvVar("MGAGE_PASSWORD"),
            program_ids=EnvVar("MGAGE_PROGRAM_IDS"),
        ),
        "senderguide": SenderGuideClient(
            base_url=EnvVar("SENDERGUIDE_BASE_URL"),
            api_key=EnvVar("SENDERGUIDE_API_KEY"),
            message_ids=EnvVar("SENDERGUIDE_MESSAGE_IDS"),
            interaction_types=EnvVar("SENDERGUIDE_INTERACTION_TYPES"),
            timezone=EnvVar("SENDERGUIDE_TIMEZONE"),
        ),
        "cinnox": CinnoxClient(
            base_url=EnvVar("CINNOX_BASE_URL"),
            app_id=EnvVar("CINNOX_APP_ID"),
            app_token=EnvVar("CINNOX_APP_TOKEN"),
        ),
        "webex": WebexClient(
            base_url=EnvVar("WEBEX_BASE_URL"),
            api_key=EnvVar("WEBEX_API_KEY"),
            keys=EnvVar("WEBEX_KEYS"),
            timezone=EnvVar("WEBEX_TIMEZONE"),
            transactions_path=EnvVar("WEBEX_TRANSACTIONS_PATH"),
            max_requests_per_second=EnvVar.int("WEBEX_MAX_REQUESTS_PER_SECOND"),
        ),
    },
)
