"""The product's one clock: everything that asks "what is now" or "what day is it" asks here.

Partitions, windows, watermarks, schedules, `make run`'s DAYS and the sandbox's idea of today
all read `now()`, so a test pins them all at once (with `time-machine`, which moves this clock
and Dagster's together) and nothing else in the code reads the wall clock for a date.
Durations are measured with `time.monotonic()`, which no calendar affects."""

from datetime import UTC, date, datetime, tzinfo


def now() -> datetime:
    """The current instant, timezone-aware, in UTC."""
    return datetime.now(UTC)


def today(zone: tzinfo = UTC) -> date:
    """Today's date on the calendar of `zone` (UTC unless a vendor's zone is given)."""
    return now().astimezone(zone).date()
