"""The daily partitions every day-windowed source shares."""

from datetime import date, timedelta

from dagster import DailyPartitionsDefinition

# UTC days; end_offset=1 includes today, so today's partition can load while it fills.
DAILY_PARTITIONS = DailyPartitionsDefinition(start_date="2025-01-01", timezone="UTC", end_offset=1)

# The run tags by which one run covers a range of partitions (what a single-run backfill sets,
# and what RunRequest.partition_key_range reads back). Dagster documents the tags but exports
# no constant for them.
_RANGE_START_TAG = "dagster/asset_partition_range_start"
_RANGE_END_TAG = "dagster/asset_partition_range_end"


def partition_range_tags(first: str, last: str) -> dict[str, str]:
    """Tags that make one run load partitions `first` to `last`, both included."""
    return {_RANGE_START_TAG: first, _RANGE_END_TAG: last}


def partition_dates(partition_keys: list[str]) -> list[date]:
    return [date.fromisoformat(key) for key in partition_keys]


def lookback_partition_keys(today: date, days: int) -> list[str]:
    """The daily partition keys of the `days` UTC days ending with `today`, oldest first,
    none before the partitions start: what a lookback re-pulls."""
    if days < 0:
        raise ValueError(f"days must be 0 or more, not {days}")
    first_partition = DAILY_PARTITIONS.start.date()
    keys = (today - timedelta(days=back) for back in range(days - 1, -1, -1))
    return [day.isoformat() for day in keys if day >= first_partition]
