"""The mart tables brought up to date with what the loads wrote, as `make ui`'s sensor does
after every load: `make run` ends with it, so that what it loaded is what the marts (and the
dashboards reading them) show, and `make dashboards` starts with it."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dagster import DagsterInstance


def refresh_marts(instance: "DagsterInstance") -> bool:
    """A run of the `marts` assets (only the days loads touched since the last one), recorded in
    Dagster's instance like any other. True if it succeeded."""
    from dagster import AssetKey

    from pipelines.definitions import defs
    from pipelines.orchestration.run_workers import worker_tag
    from pipelines.warehouse.mart_refresh import MART_TABLES

    result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
        asset_selection=[AssetKey(["marts", name]) for name in MART_TABLES], instance=instance,
        tags=worker_tag(), raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}})
    return result.success
