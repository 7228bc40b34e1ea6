"""Fetching side by side: the order and the memory of a sequential walk, whatever finishes
first, and a concurrency limit that narrows when the vendor throttles."""

import itertools
import random
import sys
import threading
import time
from datetime import datetime

import pytest

from pipelines.sources.mgage.client import day_slices
from pipelines.transport.concurrency import (
    LOAD_SWITCH_INTERVAL_S,
    SLOW_ITEM_S,
    ConcurrencyLimit,
    fan_out,
    quick_handoffs,
)
from pipelines.transport.paging import walk_numbered_pages, walk_offsets


def shuffled_stream(name: str, pages: int, seed: int):
    """A walk of `pages` pages, each arriving after a random pause (a vendor's latency)."""
    pauses = random.Random(f"{name}{seed}")

    def walk():
        for page in range(pages):
            time.sleep(pauses.uniform(0, 0.004))
            yield (name, page)

    return walk


def test_items_come_in_an_order_fixed_by_the_streams_whatever_finishes_first() -> None:
    streams = [shuffled_stream(f"s{n}", pages=n % 4 + 1, seed=n) for n in range(12)]
    assert list(fan_out(streams, workers=1)) == [item for stream in streams for item in stream()]
    for workers in (2, 5, 16):
        orders = {tuple(fan_out([shuffled_stream(f"s{n}", pages=n % 4 + 1, seed=n * run) for n in range(12)],
                                workers=workers)) for run in range(1, 4)}  # other pauses each time
        assert len(orders) == 1
        [order] = orders
        assert sorted(order) == sorted(item for stream in streams for item in stream())
        for n in range(12):  # each stream's own items in their order
            assert [page for name, page in order if name == f"s{n}"] == list(range(n % 4 + 1))


def test_streams_take_turns_and_a_finished_stream_hands_its_turn_on() -> None:
    def stream(name: str, pages: int):
        return lambda: iter([f"{name}{page}" for page in range(pages)])

    order = list(fan_out([stream("a", 3), stream("b", 1), stream("c", 2)], workers=2))
    # a and b take turns; b ends and c takes its turn.
    assert order == ["a0", "b0", "a1", "a2", "c0", "c1"]
    single = [stream(f"p{n}", 1) for n in range(10)]  # one item each: the given order
    assert list(fan_out(single, workers=4)) == [f"p{n}0" for n in range(10)]


def test_memory_stays_bounded_whatever_the_number_of_streams() -> None:
    produced, consumed, worst = [0], [0], [0]
    lock = threading.Lock()

    def stream():
        for _ in range(20):
            with lock:
                produced[0] += 1
                worst[0] = max(worst[0], produced[0] - consumed[0])
            yield 1

    for _ in fan_out([stream] * 50, workers=4, ahead=2):
        with lock:
            consumed[0] += 1
        time.sleep(0.0002)  # a slow consumer: producers run ahead as far as allowed
    assert consumed[0] == 1000
    assert worst[0] <= 4 * (2 + 2)  # workers x (queued + in hand + the one being handed over)


def test_a_stalled_stream_leaves_its_room_to_the_others() -> None:
    """Fetched-ahead room is shared: while the rotation waits for one stream (a throttled
    request, a slow answer), the others go on fetching into the room it does not use, beyond
    their own share of it, so that their waits still overlap; never beyond the whole room."""
    room = 2 * 3  # workers x ahead
    b_produced = [0]
    b_ahead_while_a_stalled = [0]

    def stream_a():
        time.sleep(SLOW_ITEM_S * 1.5)  # slow answers: the walk goes to threads
        yield "a0"
        deadline = time.monotonic() + 10
        while b_produced[0] - 1 < room and time.monotonic() < deadline:  # b0 was consumed
            time.sleep(0.005)
        b_ahead_while_a_stalled[0] = b_produced[0] - 1
        yield "a1"

    def stream_b():
        for page in range(20):
            if page == 0:
                time.sleep(SLOW_ITEM_S * 1.5)
            b_produced[0] += 1
            yield f"b{page}"

    order = list(fan_out([stream_a, stream_b], workers=2, ahead=3))
    assert order == ["a0", "b0", "a1", *(f"b{page}" for page in range(1, 20))]
    # Each stream's own share is 3; b used a's too, and no more than the whole room (plus the
    # one item it holds while waiting for room).
    assert room <= b_ahead_while_a_stalled[0] <= room + 1


def test_an_error_surfaces_at_its_streams_turn_and_stops_the_others() -> None:
    def failing():
        yield "a"
        raise RuntimeError("page 2 failed")

    started = []

    def long_stream():
        for n in range(10_000):
            started.append(n)
            yield n

    seen = []
    with pytest.raises(RuntimeError, match="page 2 failed"):
        for item in fan_out([lambda: iter(["x"]), failing, long_stream], workers=3):
            seen.append(item)
    assert seen == ["x", "a", 0]  # in turn: x, a, 0; then x is done, and the failing stream's turn
    time.sleep(0.3)
    assert len(started) < 100  # stopped, not walked to the end


def test_the_limit_halves_on_throttling_and_grows_back_one_at_a_time() -> None:
    limit = ConcurrencyLimit(8, initial=8)
    limit.throttled()
    assert limit.limit == 4
    for _ in range(3):
        limit.throttled()
    assert limit.limit == 1  # never below one
    limit.succeeded(0.1)
    assert limit.limit == 2  # after as many slow answers in a row as the limit
    limit.succeeded(0.1)
    assert limit.limit == 2
    limit.succeeded(0.1)
    assert limit.limit == 3
    for _ in range(100):
        limit.succeeded(0.1)
    assert limit.limit == 8  # never above its maximum


def test_fast_answers_do_not_widen_the_limit() -> None:
    """Requests side by side hide the network's latency; where there is none, they only
    contend for the CPU."""
    limit = ConcurrencyLimit(8, initial=2)
    for _ in range(100):
        limit.succeeded(0.001)
    assert limit.limit == 2
    for _ in range(2 + 3):
        limit.succeeded(0.05)
    assert limit.limit == 4


def test_no_more_than_the_limit_are_under_way() -> None:
    limit = ConcurrencyLimit(3)

    def request() -> None:
        with limit.slot():
            time.sleep(0.01)

    threads = [threading.Thread(target=request) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert limit.peak <= 3 and limit.in_flight == 0


def test_numbered_pages_fetched_side_by_side_come_in_order_and_are_counted() -> None:
    pages = {n: [f"p{n}r{i}" for i in range(3 if n < 7 else 1)] for n in range(1, 8)}

    def fetch(number: int):
        time.sleep(random.uniform(0, 0.003))
        return {"total_pages": 7, "total_rows": 19, "rows": pages[number]}

    walked = walk_numbered_pages(fetch, vendor="v", endpoint="e", records_of=lambda b: b["rows"],
                                 totals_of=lambda b: (b["total_pages"], b["total_rows"]), workers=4)
    assert list(walked) == [pages[n] for n in range(1, 8)]


def test_offsets_up_to_the_announced_total_side_by_side_and_on_past_a_total_too_low() -> None:
    rows = list(range(23))
    asked = []

    def fetch(offset: int, limit: int):
        asked.append(offset)
        return rows[offset:offset + limit]

    pages = list(walk_offsets(fetch, limit=5, vendor="v", endpoint="e", total=23, workers=4))
    assert [r for page in pages for r in page] == rows and sorted(asked) == [0, 5, 10, 15, 20]
    asked.clear()
    pages = list(walk_offsets(fetch, limit=5, vendor="v", endpoint="e", total=10, workers=4))
    assert [r for page in pages for r in page] == rows  # the total said 10: nothing lost
    assert sorted(asked) == [0, 5, 10, 15, 20]


def test_a_day_is_sliced_into_windows_that_touch_and_cover_it() -> None:
    start = datetime(2026, 11, 18)
    slices = day_slices(start, 8)
    assert slices[0][0] == start and slices[-1][1] == datetime(2026, 11, 19)
    assert all(first[1] == second[0] for first, second in itertools.pairwise(slices))
    assert day_slices(start, 1) == [(start, datetime(2026, 11, 19))]


def test_slow_streams_go_to_threads_and_keep_the_same_order() -> None:
    """Items slower than SLOW_ITEM_S (a vendor's latency) are fetched by worker threads, side
    by side; the order is the rotation's, as when read in one thread."""
    threads: set[str] = set()

    def stream(name: str, pause: float):
        def walk():
            for page in range(3):
                time.sleep(pause)
                threads.add(threading.current_thread().name)
                yield f"{name}{page}"
        return walk

    fast = list(fan_out([stream(f"s{n}", 0) for n in range(6)], workers=3))
    assert not any(name.startswith("fan-out") for name in threads)  # nothing to hide: no thread
    slow = list(fan_out([stream(f"s{n}", SLOW_ITEM_S * 1.5) for n in range(6)], workers=3))
    assert slow == fast
    assert any(name.startswith("fan-out") for name in threads)


def test_a_stream_that_fetches_when_called_is_called_by_a_worker_too() -> None:
    """A numbered walk's pages are functions that fetch when called: going wide must call
    them in the worker threads, or the fetching stays one at a time."""
    callers: set[str] = set()

    def page(number: int):
        def fetch():
            time.sleep(SLOW_ITEM_S * 1.5)
            callers.add(threading.current_thread().name)
            return [number]
        return fetch

    assert list(fan_out([page(n) for n in range(12)], workers=4)) == list(range(12))
    assert any(name.startswith("fan-out") for name in callers)


def test_quick_handoffs_hold_while_any_block_runs_and_restore_the_setting_after_the_last() -> None:
    before = sys.getswitchinterval()
    assert before != LOAD_SWITCH_INTERVAL_S
    first, second = quick_handoffs(), quick_handoffs()
    first.__enter__()
    assert sys.getswitchinterval() == LOAD_SWITCH_INTERVAL_S
    second.__enter__()  # overlapping loads (threads of one process) share the one setting
    first.__exit__(None, None, None)
    assert sys.getswitchinterval() == LOAD_SWITCH_INTERVAL_S  # the second still runs
    second.__exit__(None, None, None)
    assert sys.getswitchinterval() == before
    with pytest.raises(RuntimeError), quick_handoffs():
        raise RuntimeError("a failed load")
    assert sys.getswitchinterval() == before
