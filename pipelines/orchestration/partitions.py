"""The daily partitions every day-windowed source shares."""

from datetime import date, timedelta

from dagster import DailyPartitionsDefinition

# UTC days; end_offset=1 includes today, so today's partition can load while it fills.
DAILY_PARTITIONS = DailyPartitionsDefinition(start_date="2025-01-01", timezone="UTC", end_offset=1)


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
