"""The Dagster code location: every registered source with its resource bound to the
environment, the marts that follow them, and the sensors that keep the instance healthy."""

from collections.abc import Sequence

from dagster import AssetSelection, Definitions, EnvVar, define_asset_job, in_process_executor

from pipelines.orchestration.marts import marts_assets, marts_follow_sources
from pipelines.orchestration.remap import remap_job
from pipelines.orchestration.retention import retention_job
from pipelines.orchestration.run_workers import dead_run_sensor
from pipelines.orchestration.settings import ModelSettings, ReportingSettings
from pipelines.orchestration.source import SourceDefinition
from pipelines.sources import registry
from pipelines.warehouse.resource import Warehouse
from pipelines.warehouse.retention import ContentFields


def build_definitions(sources: Sequence[SourceDefinition]) -> Definitions:
    """The code location over `sources`: one job per source, so one vendor failing never
    holds back another; each source's resource under its name."""
    purge_job, purge_schedule = retention_job(
        [ContentFields(source.name, source.raw_table, source.content_fields) for source in sources])
    return Definitions(
        assets=[*(source.load for source in sources),
                *(support.asset for source in sources for support in source.supporting),
                *(action.asset for source in sources for action in source.actions),
                marts_assets([source.events_key for source in sources])],
        jobs=[*(define_asset_job(source.job_name, selection=AssetSelection.assets(source.load),
                                 partitions_def=source.partitions_def,
                                 description=source.job_description) for source in sources),
              *(define_asset_job(support.job_name, selection=AssetSelection.assets(support.asset),
                                 description=support.job_description)
                for source in sources for support in source.supporting),
              *(define_asset_job(action.job_name, selection=AssetSelection.assets(action.asset),
                                 description=action.job_description)
                for source in sources for action in source.actions),
              purge_job, remap_job(sources)],
        schedules=[*(schedule for source in sources for schedule in source.schedules), purge_schedule],
        sensors=[marts_follow_sources, dead_run_sensor],
        # Every job is one load step (and its checks): run in the run's own process, which is then
        # the one its `pipelines/worker` tag names (run_workers.py). A step process of its own
        # would exit before the run ends, and could have the run marked dead in between.
        executor=in_process_executor,
        resources={
            "warehouse": Warehouse(url=EnvVar("WAREHOUSE_URL"), pii_key=EnvVar("PIPELINES_PII_KEY"),
                                   retention_days=EnvVar.int("PIPELINES_RETENTION_DAYS"),
                                   keep_months=EnvVar.int("PIPELINES_KEEP_MONTHS")),
            "model_settings": ModelSettings(phone_default_region=EnvVar("PHONE_DEFAULT_REGION")),
            "reporting": ReportingSettings(timezone=EnvVar("PIPELINES_REPORTING_TIMEZONE")),
            **{source.name: source.bound_resource() for source in sources},
        },
    )


defs = build_definitions(registry())
