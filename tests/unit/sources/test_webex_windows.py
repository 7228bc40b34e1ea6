"""Window splitting against a fake last-N vendor, and the per-key window from a watermark."""

import random
from datetime import date, timedelta

import pytest

from pipelines.sources.webex.client import KeyWindow, TruncatedDay, collect_window, key_window

COUNT = 50
FIRST = date(2026, 11, 1)


class FakeVendor:
    """Holds each day's transactions and answers like Webex: the last `count` of the inclusive
    window, ascending. Records every window asked."""

    def __init__(self, per_day: dict[date, int], count: int = COUNT) -> None:
        self.days = {day: [f"{day.isoformat()}#{n:03d}" for n in range(volume)]
                     for day, volume in per_day.items()}
        self.count = count
        self.asked: list[tuple[date, date]] = []

    def fetch(self, first: date, last: date) -> list[str]:
        assert first <= last
        self.asked.append((first, last))
        rows = [row for day in sorted(self.days) if first <= day <= last for row in self.days[day]]
        return rows[-self.count:]


def days(*volumes: int) -> dict[date, int]:
    return {FIRST + timedelta(days=n): volume for n, volume in enumerate(volumes)}


def collect(vendor: FakeVendor, first: date, last: date):
    return collect_window(vendor.fetch, KeyWindow("k", first, last), vendor.count)


def test_a_window_that_is_not_full_is_asked_once() -> None:
    vendor = FakeVendor(days(3, 0, 5, 1, 0, 4, 2))
    result = collect(vendor, FIRST, FIRST + timedelta(days=6))
    assert vendor.asked == [(FIRST, FIRST + timedelta(days=6))]
    assert len(result.transactions) == 15 and result.truncated == [] and result.requests == 1
    assert result.window == KeyWindow("k", FIRST, FIRST + timedelta(days=6))


def test_a_full_window_is_halved_until_answers_are_not_full() -> None:
    vendor = FakeVendor(days(20, 20, 20, 20))  # 80 in the window: the first answer is cut
    result = collect(vendor, FIRST, FIRST + timedelta(days=3))
    assert vendor.asked == [(FIRST, FIRST + timedelta(days=3)),
                            (FIRST, FIRST + timedelta(days=1)),
                            (FIRST + timedelta(days=2), FIRST + timedelta(days=3))]
    assert result.transactions == [row for day in sorted(vendor.days) for row in vendor.days[day]]
    assert result.truncated == [] and result.requests == 3


def test_a_single_day_still_full_is_reported_truncated_with_its_latest_rows() -> None:
    vendor = FakeVendor(days(2, 80, 3))
    busy = FIRST + timedelta(days=1)
    result = collect(vendor, FIRST, FIRST + timedelta(days=2))
    assert result.truncated == [TruncatedDay(busy, COUNT)]
    assert (busy, busy) in vendor.asked
    assert result.transactions == (vendor.days[FIRST] + vendor.days[busy][-COUNT:]
                                   + vendor.days[FIRST + timedelta(days=2)])


def test_a_day_with_exactly_count_transactions_cannot_be_told_from_a_cut_one() -> None:
    vendor = FakeVendor(days(COUNT))
    result = collect(vendor, FIRST, FIRST)
    assert result.truncated == [TruncatedDay(FIRST, COUNT)] and len(result.transactions) == COUNT


def test_a_busy_key_asks_each_day_alone_and_at_most_2n_minus_1_times() -> None:
    vendor = FakeVendor(days(*[80] * 7))
    result = collect(vendor, FIRST, FIRST + timedelta(days=6))
    assert [day.local_date for day in result.truncated] == sorted(vendor.days)
    assert result.requests == len(vendor.asked) == 2 * 7 - 1
    assert len(result.transactions) == 7 * COUNT


def test_an_empty_window_is_refused() -> None:
    with pytest.raises(ValueError, match="empty window"):
        collect(FakeVendor({}), FIRST, FIRST - timedelta(days=1))


@pytest.mark.parametrize("seed", range(40))
def test_never_loses_a_transaction_the_vendor_holds(seed: int) -> None:
    draw = random.Random(seed)
    span = draw.randint(1, 40)
    count = draw.choice([1, 3, 10, COUNT])
    volumes = [draw.choice([0, 0, 1, 2, 5, 9, 30, count, count + 1, 200]) for _ in range(span)]
    vendor = FakeVendor(days(*volumes), count)
    last = FIRST + timedelta(days=span - 1)
    result = collect(vendor, FIRST, last)

    truncated = {day.local_date for day in result.truncated}
    assert truncated == {day for day, rows in vendor.days.items() if len(rows) >= count}
    assert all(day.returned == count for day in result.truncated)
    expected = [row for day in sorted(vendor.days)
                for row in (vendor.days[day][-count:] if day in truncated else vendor.days[day])]
    assert result.transactions == expected  # each once, in date order
    assert result.requests == len(vendor.asked) <= 2 * span - 1
    asked_days = [day for first, last in vendor.asked for day in (first, last)]
    assert min(asked_days) >= FIRST and max(asked_days) <= last


def test_a_new_key_starts_initial_days_back_today_included() -> None:
    today = date(2026, 11, 23)
    assert key_window("k", None, today, initial_days=7) == KeyWindow("k", date(2026, 11, 17), today)
    assert key_window("k", None, today, initial_days=1) == KeyWindow("k", today, today)


def test_a_known_key_restarts_at_its_watermark_inclusive() -> None:
    today = date(2026, 11, 23)
    assert key_window("k", date(2026, 11, 20), today, initial_days=7) == KeyWindow("k", date(2026, 11, 20), today)
    assert key_window("k", today, today, initial_days=7) == KeyWindow("k", today, today)
    assert (key_window("k", date(2026, 11, 20), today, initial_days=7, lookback_days=2)
            == KeyWindow("k", date(2026, 11, 18), today))


def test_a_watermark_ahead_of_today_asks_for_today_only() -> None:
    today = date(2026, 11, 23)
    assert key_window("k", date(2026, 11, 24), today, initial_days=7) == KeyWindow("k", today, today)
