import threading
import time

from pipelines.transport.http import RequestRate


def test_requests_beyond_the_burst_are_spaced_to_the_rate() -> None:
    rate = RequestRate(per_second=50, burst=5)
    started = time.monotonic()
    for _ in range(25):
        rate.acquire()
    elapsed = time.monotonic() - started
    assert 0.35 <= elapsed < 3.0  # 20 requests beyond the burst at 50/s: 0.4 s (slack for a busy machine)


def test_the_budget_is_shared_by_threads() -> None:
    rate = RequestRate(per_second=100, burst=1)
    started = time.monotonic()
    threads = [threading.Thread(target=lambda: [rate.acquire() for _ in range(10)]) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert time.monotonic() - started >= 0.35  # 39 spaced requests at 100/s, not 4 x 10 at once


def test_zero_means_no_budget() -> None:
    rate = RequestRate(per_second=0)
    started = time.monotonic()
    for _ in range(1000):
        rate.acquire()
    assert time.monotonic() - started < 0.1


class _Clock:
    """Time that moves only when a test says so."""

    def __init__(self) -> None:
        self.at = 100.0

    def __call__(self) -> float:
        return self.at


def _answered(rate: RequestRate, clock: _Clock, count: int, over_s: float) -> None:
    """`count` requests sent and answered without throttling, evenly over `over_s`."""
    for _ in range(count):
        clock.at += over_s / count
        rate.acquire()
        rate.accepted()


def _throttled(rate: RequestRate, count: int = 1) -> None:
    for _ in range(count):
        rate.acquire()
        rate.throttled()


def test_a_throttle_paces_at_a_little_less_than_what_the_vendor_took() -> None:
    clock = _Clock()
    rate = RequestRate(per_second=0, now=clock)  # no budget configured: unpaced
    _answered(rate, clock, 20, over_s=1.0)  # the vendor took 20 in the last second
    _throttled(rate)  # and not the 21st
    assert rate.per_second == 20 * 0.95
    assert rate.learned == 1


def test_one_burst_of_throttles_backs_off_once() -> None:
    clock = _Clock()
    rate = RequestRate(per_second=0, now=clock)
    _answered(rate, clock, 20, over_s=1.0)
    _throttled(rate, 5)  # the same burst's next 429s: the budget just set stands
    assert rate.per_second == 19
    assert rate.learned == 1


def test_a_throttle_while_paced_at_what_the_vendor_showed_slows_the_pace() -> None:
    clock = _Clock()
    rate = RequestRate(per_second=0, now=clock)
    _answered(rate, clock, 20, over_s=1.0)
    _throttled(rate)
    assert rate.per_second == 19
    clock.at += 2 * RequestRate.WINDOW_S
    # Paced at 19, its window saw 20 go (it and the vendor's never quite agree), and the vendor
    # said "too many" to the 21st: 95% of the 20 would be the pace it already had.
    _answered(rate, clock, 20, over_s=1.0)
    _throttled(rate)
    assert rate.per_second == 19 * 0.95


def test_clean_seconds_grow_the_budget_back_to_the_configured_one() -> None:
    clock = _Clock()
    rate = RequestRate(per_second=20, burst=1, now=clock)
    _answered(rate, clock, 10, over_s=1.0)
    _throttled(rate)
    assert rate.per_second == 10 * 0.95
    budgets = []
    for _ in range(70):
        _answered(rate, clock, 5, over_s=1.0)
        budgets.append(rate.per_second)
    assert budgets == sorted(budgets)  # only up, a second at a time
    # It holds the limit the vendor just showed for HOLD_S seconds, then probes above it.
    held = int(RequestRate.HOLD_S) - 1
    assert set(budgets[:held]) == {10 * 0.95}
    assert budgets[held] == 10 * 0.95 * 1.02
    assert budgets[-1] == 20  # never beyond the budget configured


def test_an_unconfigured_budget_keeps_probing_upwards() -> None:
    clock = _Clock()
    rate = RequestRate(per_second=0, now=clock)
    _answered(rate, clock, 10, over_s=1.0)
    _throttled(rate)
    for _ in range(int(RequestRate.HOLD_S) + 3):  # at the pace it holds, then above it
        _answered(rate, clock, 9, over_s=1.0)
    assert rate.per_second > 9.5  # the vendor may have raised its limit: found again by the next 429


def test_a_vendor_that_never_throttles_is_never_paced() -> None:
    clock = _Clock()
    rate = RequestRate(per_second=0, now=clock)
    _answered(rate, clock, 10_000, over_s=1.0)
    assert rate.per_second == 0
    assert rate.learned == 0
