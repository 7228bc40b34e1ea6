"""Every name the product takes from Dagster's private modules, in one place, each with the
public API it stands in for. When Dagster makes one public, it changes here only."""

__all__ = ["ASSET_PARTITION_RANGE_END_TAG", "ASSET_PARTITION_RANGE_START_TAG",
           "UnresolvedAssetJobDefinition"]

# No public type: `define_asset_job` returns it, and the schedules accept the jobs it makes.
from dagster._core.definitions.unresolved_asset_job_definition import (
    UnresolvedAssetJobDefinition,
)

# No public constants: the run tags that make one run cover a range of partitions (what a
# single-run backfill sets), which make run and the lookback schedules set themselves.
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)
