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
