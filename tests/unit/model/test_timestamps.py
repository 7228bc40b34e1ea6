from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from pipelines.model.events import RecordRejected
from pipelines.model.timestamps import month_start, parse_vendor_time


@pytest.mark.parametrize(("text", "expected"), [
    ("2014-12-05T10:00:00.00", datetime(2014, 12, 5, 10, tzinfo=UTC)),   # mGage's odd fraction
    ("2014-12-05T10:00:00.120", datetime(2014, 12, 5, 10, 0, 0, 120000, tzinfo=UTC)),
    ("2014-12-05T10:00:00", datetime(2014, 12, 5, 10, tzinfo=UTC)),
    ("2022-11-07T00:00:00.000Z", datetime(2022, 11, 7, tzinfo=UTC)),     # RFC 3339
    ("2022-11-07T08:00:00+08:00", datetime(2022, 11, 7, tzinfo=UTC)),
])
def test_utc_and_offset_timestamps(text: str, expected: datetime) -> None:
    assert parse_vendor_time(text) == expected


def test_naive_times_are_read_in_the_given_zone_across_dst() -> None:
    new_york = ZoneInfo("America/New_York")
    # Before and after the 2026-03-08 spring-forward: UTC-5, then UTC-4.
    assert parse_vendor_time("2026-03-08 01:30:00", new_york) == datetime(2026, 3, 8, 6, 30, tzinfo=UTC)
    assert parse_vendor_time("2026-03-08 03:30:00", new_york) == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)
    # 01:30 happens twice on 2026-11-01; the earlier (EDT) instant is taken.
    assert parse_vendor_time("2026-11-01 01:30:00", new_york) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)


@pytest.mark.parametrize("value", [None, "", "yesterday", "2014-13-45T10:00:00", 1417773600, "null"])
def test_unusable_values_reject_the_record(value: object) -> None:
    with pytest.raises(RecordRejected):
        parse_vendor_time(value)


def test_a_timestamp_beyond_the_representable_range_is_rejected_not_raised() -> None:
    # Its UTC instant falls after 9999-12-31: an OverflowError used to fail the whole load.
    with pytest.raises(RecordRejected, match="out of range"):
        parse_vendor_time("9999-12-31T23:59:59-01:00")


@pytest.mark.parametrize(("day", "months_later", "expected"), [
    (date(2026, 12, 31), 0, date(2026, 12, 1)),
    (date(2026, 12, 2), 1, date(2027, 1, 1)),
    (date(2027, 1, 15), -1, date(2026, 12, 1)),
    (date(2026, 12, 2), -11, date(2026, 1, 1)),
    (date(2026, 12, 2), -12, date(2025, 12, 1)),
])
def test_month_start_counts_whole_months_across_years(day: date, months_later: int, expected: date) -> None:
    assert month_start(day, months_later) == expected
