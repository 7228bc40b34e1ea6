"""The daily partitions every day-windowed source shares."""

from datetime import date

from dagster import DailyPartitionsDefinition

# UTC days; end_offset=1 includes today, so today's partition can load while it fills.
DAILY_PARTITIONS = DailyPartitionsDefinition(start_date="2025-01-01", timezone="UTC", end_offset=1)


def partition_dates(partition_keys: list[str]) -> list[date]:
    return [date.fromisoformat(key) for key in partition_keys]
