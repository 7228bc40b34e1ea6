"""Window splitting against a fake last-N vendor, under both readings of its undocumented
to-date (inclusive and exclusive), and the per-key window from a watermark."""

import random
from datetime import date, timedelta

import pytest

from pipelines.sources.webex.client import KeyWindow, TruncatedDay, collect_window, key_window

COUNT = 50
FIRST = date(2026, 11, 1)


READINGS = ("inclusive", "exclusive")


class FakeVendor:
    """Holds each day's transactions and answers like Webex: the last `count` of the window,
    ascending. The window is from..to with `to` inclusive or exclusive (`reading`): Webex does
    not document which. Records every (from-date, to-date) asked."""

    def __init__(self, per_day: dict[date, int], count: int = COUNT, reading: str = "inclusive") -> None:
        self.days = {day: [f"{day.isoformat()}#{n:03d}" for n in range(volume)]
                     for day, volume in per_day.items()}
        self.count = count
        self.inclusive = {"inclusive": True, "exclusive": False}[reading]
        self.asked: list[tuple[date, date]] = []

    def fetch(self, first: date, to: date) -> list[str]:
        assert first <= to
        self.asked.append((first, to))
        rows = [row for day in sorted(self.days)
                if first <= day and (day <= to if self.inclusive else day < to)
                for row in self.days[day]]
        return rows[-self.count:]


def days(*volumes: int) -> dict[date, int]:
    return {FIRST + timedelta(days=n): volume for n, volume in enumerate(volumes)}


def day_of(row: str) -> date:
    return date.fromisoformat(row[:10])


def collect(vendor: FakeVendor, first: date, last: date):
    return collect_window(vendor.fetch, KeyWindow("k", first, last), vendor.count, day_of=day_of)


def after(n: int) -> date:
    return FIRST + timedelta(days=n)


@pytest.mark.parametrize("reading", READINGS)
def test_a_window_that_is_not_full_is_asked_once(reading: str) -> None:
    vendor = FakeVendor(days(3, 0, 5, 1, 0, 4, 2), reading=reading)
    result = collect(vendor, FIRST, after(6))
    assert vendor.asked == [(FIRST, after(7))]  # to-date the day after: the last day under either reading
    assert len(result.transactions) == 15 and result.truncated == [] and result.requests == 1
    assert result.window == KeyWindow("k", FIRST, after(6))


@pytest.mark.parametrize(("reading", "asked"), [
    # The halves' answers hold the next half's first day too, so one is full again.
    ("inclusive", [(FIRST, after(4)), (FIRST, after(2)), (FIRST, after(1)), (after(1), after(2)),
                   (after(2), after(4))]),
    ("exclusive", [(FIRST, after(4)), (FIRST, after(2)), (after(2), after(4))]),
])
def test_a_full_window_is_halved_until_answers_are_not_full(reading: str, asked: list) -> None:
    vendor = FakeVendor(days(20, 20, 20, 20), reading=reading)  # 80 in the window: the first answer is cut
    result = collect(vendor, FIRST, after(3))
    assert vendor.asked == asked
    assert result.transactions == [row for day in sorted(vendor.days) for row in vendor.days[day]]
    assert result.truncated == [] and result.requests == len(asked)


@pytest.mark.parametrize(("reading", "busy_alone"), [
    ("inclusive", (after(1), after(1))),  # asked again alone: the next day's rows crowded it
    ("exclusive", (after(1), after(2))),
])
def test_a_single_day_still_full_is_reported_truncated_with_its_latest_rows(reading: str,
                                                                           busy_alone: tuple) -> None:
    vendor = FakeVendor(days(2, 80, 3), reading=reading)
    busy = after(1)
    result = collect(vendor, FIRST, after(2))
    assert result.truncated == [TruncatedDay(busy, COUNT)]
    assert busy_alone in vendor.asked
    assert result.transactions == (vendor.days[FIRST] + vendor.days[busy][-COUNT:]
                                   + vendor.days[after(2)])


@pytest.mark.parametrize("reading", READINGS)
def test_a_day_with_exactly_count_transactions_cannot_be_told_from_a_cut_one(reading: str) -> None:
    vendor = FakeVendor(days(COUNT), reading=reading)
    result = collect(vendor, FIRST, FIRST)
    assert result.truncated == [TruncatedDay(FIRST, COUNT)] and len(result.transactions) == COUNT
    assert result.requests == 1  # the next day is empty: nothing crowded the day out


@pytest.mark.parametrize(("reading", "requests"), [
    ("exclusive", 2 * 7 - 1),
    # Each day but the last is crowded out by the next one's rows once, then asked alone.
    ("inclusive", 2 * 7 - 1 + 6),
])
def test_a_busy_key_asks_each_day_alone_and_at_most_3n_minus_1_times(reading: str, requests: int) -> None:
    vendor = FakeVendor(days(*[80] * 7), reading=reading)
    result = collect(vendor, FIRST, after(6))
    assert [day.local_date for day in result.truncated] == sorted(vendor.days)
    assert result.requests == len(vendor.asked) == requests <= 3 * 7 - 1
    assert result.transactions == [row for day in sorted(vendor.days) for row in vendor.days[day][-COUNT:]]


@pytest.mark.parametrize("reading", READINGS)
def test_a_busy_next_day_never_hides_a_quiet_day(reading: str) -> None:
    vendor = FakeVendor(days(3, 80), reading=reading)  # the busy day is the next window's
    result = collect(vendor, FIRST, FIRST)
    assert result.transactions == vendor.days[FIRST]
    assert result.truncated == []
    assert result.requests == len(vendor.asked) == (2 if reading == "inclusive" else 1)


@pytest.mark.parametrize("reading", READINGS)
def test_the_next_days_rows_are_left_to_the_next_window(reading: str) -> None:
    vendor = FakeVendor(days(5, 5, 5), reading=reading)
    result = collect(vendor, FIRST, after(1))
    assert result.transactions == vendor.days[FIRST] + vendor.days[after(1)]
    assert result.requests == 1


def test_rows_without_a_readable_date_are_kept_for_the_quarantine() -> None:
    answer = [{"transaction-id": "a", "deployment-date": "2026-11-01 10:00:00"},
              {"transaction-id": "b", "deployment-date": "not a date"},
              {"transaction-id": "c"},
              {"transaction-id": "d", "deployment-date": "2026-11-02 00:00:00"}]
    result = collect_window(lambda first, to: answer, KeyWindow("k", FIRST, FIRST), COUNT)
    assert [row["transaction-id"] for row in result.transactions] == ["a", "b", "c"]


def test_an_empty_window_is_refused() -> None:
    with pytest.raises(ValueError, match="empty window"):
        collect(FakeVendor({}), FIRST, FIRST - timedelta(days=1))


@pytest.mark.parametrize("reading", READINGS)
@pytest.mark.parametrize("seed", range(40))
def test_never_loses_a_transaction_the_vendor_holds(seed: int, reading: str) -> None:
    draw = random.Random(seed)
    span = draw.randint(1, 40)
    count = draw.choice([1, 3, 10, COUNT])
    # One more day than the window: the next window's rows, which must not come in.
    volumes = [draw.choice([0, 0, 1, 2, 5, 9, 30, count, count + 1, 200]) for _ in range(span + 1)]
    vendor = FakeVendor(days(*volumes), count, reading)
    last = after(span - 1)
    result = collect(vendor, FIRST, last)

    held = {day: rows for day, rows in vendor.days.items() if day <= last}
    truncated = {day.local_date for day in result.truncated}
    assert truncated == {day for day, rows in held.items() if len(rows) >= count}
    assert all(day.returned == count for day in result.truncated)
    expected = [row for day in sorted(held)
                for row in (held[day][-count:] if day in truncated else held[day])]
    assert result.transactions == expected  # each once, in date order
    bound = 2 * span - 1 if reading == "exclusive" else 3 * span - 1
    assert result.requests == len(vendor.asked) <= bound
    asked_days = [day for first, to in vendor.asked for day in (first, to)]
    assert min(asked_days) >= FIRST and max(asked_days) <= last + timedelta(days=1)


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
