"""The Dagster code location: every source's assets, resources bound to the environment."""

from dagster import AssetSelection, Definitions, EnvVar, define_asset_job

from pipelines.core.partitions import DAILY_PARTITIONS
from pipelines.core.settings import ModelSettings
from pipelines.sources.mgage.assets import mgage_load
from pipelines.sources.mgage.client import MgageClient
from pipelines.warehouse.resource import Warehouse

# One job per source, so one vendor failing never holds back another.
mgage_job = define_asset_job("mgage_daily", selection=AssetSelection.groups("mgage"),
                             partitions_def=DAILY_PARTITIONS,
                             description="Load mGage SMS for the selected UTC days.")

SOURCE_JOBS = {"mgage": mgage_job}

defs = Definitions(
    assets=[mgage_load],
    jobs=list(SOURCE_JOBS.values()),
    resources={
        "warehouse": Warehouse(url=EnvVar("WAREHOUSE_URL")),
        "model_settings": ModelSettings(phone_default_region=EnvVar("PHONE_DEFAULT_REGION")),
        "mgage": MgageClient(
            base_url=EnvVar("MGAGE_BASE_URL"),
            username=EnvVar("MGAGE_USERNAME"),
            password=EnvVar("MGAGE_PASSWORD"),
            program_ids=EnvVar("MGAGE_PROGRAM_IDS"),
        ),
    },
)
