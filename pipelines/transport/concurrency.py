"""Concurrency, written once: how many requests one vendor may have under way (adapting to
its throttling), and how independent page walks are fetched side by side while the loader
still sees their pages in one fixed order, whatever order they arrive in."""

import queue
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")


class ConcurrencyLimit:
    """At most `limit` requests under way to one vendor, shared by every thread calling it.

    Adaptive, as TCP's congestion window is: a throttled answer (429, `Retry-After`) halves
    the limit at once; it grows by one after as many answers in a row as the limit, never
    above `maximum`, but only with answers slower than `slow_answer_s`: more requests at once
    only hide the network's latency, and where answers come back fast (a vendor next door)
    they add nothing but contention. (Against such a vendor, fan_out starts no thread.)"""

    def __init__(self, maximum: int, *, initial: int | None = None, slow_answer_s: float = 0.02) -> None:
        if maximum < 1:
            raise ValueError(f"a concurrency limit is 1 or more, not {maximum}")
        self.maximum = maximum
        self.limit = max(1, min(maximum, initial or maximum))
        self.slow_answer_s = slow_answer_s
        self.in_flight = 0
        self.peak = 0
        self.throttles = 0
        self._streak = 0
        self._changed = threading.Condition()

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of the vendor's request slots for the block, waiting for one if needed."""
        with self._changed:
            self._changed.wait_for(lambda: self.in_flight < self.limit)
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        try:
            yield
        finally:
            with self._changed:
                self.in_flight -= 1
                self._changed.notify_all()

    def throttled(self) -> None:
        """The vendor said "too many": halve the limit (at least 1)."""
        with self._changed:
            self.throttles += 1
            self._streak = 0
            self.limit = max(1, self.limit // 2)

    def succeeded(self, seconds: float) -> None:
        """An answer without throttling that took `seconds`: after as many slow ones in a row
        as the limit, one more slot."""
        if seconds < self.slow_answer_s:
            return
        with self._changed:
            self._streak += 1
            if self._streak >= self.limit and self.limit < self.maximum:
                self._streak = 0
                self.limit += 1
                self._changed.notify_all()


# An item that took longer than this to come is mostly the network's wait: worth hiding.
SLOW_ITEM_S = 0.04
_SLOW_ITEMS_TO_GO_WIDE = 2


class _Ahead:
    """The items that worker threads fetched before the consumer's rotation reached them, over
    all streams: at most `limit`, but a stream with nothing ready may always fetch its next
    one, since the rotation may be waiting for it. A stream slowed down (a throttled request,
    a longer answer) thus does not stop the others at once: they use the shared room, and the
    waits overlap, in bounded memory."""

    def __init__(self, limit: int, stop: threading.Event) -> None:
        self.limit = limit
        self.count = 0
        self.stop = stop
        self._changed = threading.Condition()

    def put(self, ready: "queue.SimpleQueue[tuple[str, Any]]", entry: tuple[str, Any]) -> bool:
        """Queue `entry` once there is room; False if the walk stopped meanwhile."""
        with self._changed:
            while not (self.stop.is_set() or ready.empty() or self.count < self.limit):
                self._changed.wait(0.1)
            if self.stop.is_set():
                return False
            self.count += 1
        ready.put(entry)
        return True

    def taken(self) -> None:
        with self._changed:
            self.count -= 1
            self._changed.notify_all()


class _Turn:
    """One stream's place in the rotation: read inline by the consumer, or, once the walk
    goes wide, by a worker thread that fetches ahead of the rotation within the shared room."""

    def __init__(self, stream: Callable[[], Iterable[Any]]) -> None:
        self.stream = stream
        self._items: Iterator[Any] | None = None
        self.ready: queue.SimpleQueue[tuple[str, Any]] | None = None
        self._ahead: _Ahead | None = None

    @property
    def items(self) -> Iterator[Any]:
        """The stream's items, started on first use (in whichever thread reads it first: a
        stream may do its fetching when called, not only when iterated)."""
        if self._items is None:
            self._items = iter(self.stream())
        return self._items

    def hand_to(self, pool: ThreadPoolExecutor, ahead: _Ahead) -> None:
        ready: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self.ready, self._ahead = ready, ahead

        def run() -> None:
            try:
                for item in self.items:
                    if not ahead.put(ready, ("item", item)):
                        return
                ahead.put(ready, ("done", None))
            except BaseException as error:  # handed to the consumer at this stream's turn
                ahead.put(ready, ("error", error))

        pool.submit(run)

    def take(self) -> tuple[str, Any]:
        if self.ready is not None and self._ahead is not None:
            entry = self.ready.get()
            self._ahead.taken()
            return entry
        try:
            return "item", next(self.items)
        except StopIteration:
            return "done", None


def fan_out(streams: Iterable[Callable[[], Iterable[T]]], *, workers: int, ahead: int = 4) -> Iterator[T]:
    """Every item of every stream, up to `workers` streams side by side, in an order fixed by
    the streams' contents and `workers`, never by timing.

    The order is a rotation: the first `workers` streams take turns, one item each; a stream
    that ends hands its turn to the next stream not yet started. Streams of one item each (the
    pages of a numbered walk) thus come in their given order; long streams (time slices of a
    day) advance side by side, so that none waits for another to finish; and what the loader
    does with the items (duplicates, "last seen wins", quarantine) is the same whatever order
    the answers arrive in.

    The rotation is first read in this thread. Once items are seen to be slow (the network's
    latency, SLOW_ITEM_S), each turn's stream is handed to a worker thread that fetches ahead
    of the rotation, so that the waits overlap; against a vendor next door, threads would only
    contend for the CPU, and none is started. The order is the rotation's either way. Memory is
    bounded: at most `workers` streams are open, with at most `ahead` items each on average
    fetched ahead (see _Ahead). An error in a stream is raised at its turn; a consumer that
    stops early stops every stream."""
    pending = iter(streams)
    stop = threading.Event()
    room = _Ahead(max(1, workers) * ahead, stop)
    pool: ThreadPoolExecutor | None = None
    slow_items = 0

    def start_next() -> _Turn | None:
        stream = next(pending, None)
        if stream is None:
            return None
        turn = _Turn(stream)
        if pool is not None:
            turn.hand_to(pool, room)
        return turn

    turns: list[_Turn | None] = [turn for turn in (start_next() for _ in range(max(1, workers)))
                                 if turn is not None]
    try:
        while turns:
            for index, turn in enumerate(turns):
                if turn is None:
                    continue
                started = time.monotonic()
                kind, value = turn.take()
                if kind == "item":
                    if pool is None and workers > 1 and time.monotonic() - started >= SLOW_ITEM_S:
                        slow_items += 1
                        if slow_items >= _SLOW_ITEMS_TO_GO_WIDE:
                            pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fan-out")
                            for waiting in turns:
                                if waiting is not None and waiting is not turn:
                                    waiting.hand_to(pool, room)
                            turn.hand_to(pool, room)
                    yield value
                elif kind == "done":
                    turns[index] = start_next()
                else:
                    raise value
            # A turn is left empty only once every stream has started: dropping it keeps
            # the others' order.
            turns = [turn for turn in turns if turn is not None]
    finally:
        stop.set()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


# How long a thread may keep the interpreter while another waits for it, during a load (Python's
# default is 5 ms). A load's critical path is one thread that sends COPY data and runs merges:
# it wakes from a socket wait dozens of times a chunk, and each time takes the interpreter back
# from the threads that fetch and map pages. At 5 ms a wake the database sat idle between
# wakes: a 10,000-row COPY took 220 ms inside a load against 88 ms alone. At 0.5 ms, 200,000
# mGage messages loaded in a median 12.5 s instead of 15.1 s at 100 ms a page, and 12.6 s
# instead of 13.7 s at 0 ms (three runs each, taking turns on one machine).
LOAD_SWITCH_INTERVAL_S = 0.0005


class _SwitchInterval:
    """The interpreter's switch interval while any block of `quick_handoffs` runs. It is one
    setting for the whole process: the first block in sets it, the last one out restores it."""

    lock = threading.Lock()
    depth = 0
    saved = 0.0


@contextmanager
def quick_handoffs() -> Iterator[None]:
    """Threads hand the interpreter over every LOAD_SWITCH_INTERVAL_S within the block."""
    with _SwitchInterval.lock:
        if _SwitchInterval.depth == 0:
            _SwitchInterval.saved = sys.getswitchinterval()
            sys.setswitchinterval(LOAD_SWITCH_INTERVAL_S)
        _SwitchInterval.depth += 1
    try:
        yield
    finally:
        with _SwitchInterval.lock:
            _SwitchInterval.depth -= 1
            if _SwitchInterval.depth == 0:
                sys.setswitchinterval(_SwitchInterval.saved)
