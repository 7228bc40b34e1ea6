"""Concurrency, written once: how many requests one vendor may have under way (adapting to
its throttling), and how independent page walks are fetched side by side while the loader
still sees their pages in one fixed order, whatever order they arrive in."""

import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")


class ConcurrencyLimit:
    """At most `limit` requests under way to one vendor, shared by every thread calling it.

    Adaptive, as TCP's congestion window is (additive increase, multiplicative decrease): a
    throttled answer (429, `Retry-After`) halves the limit at once; `grow_after` answers in a
    row without throttling raise it by one, never above `maximum`. A vendor that throttles is
    thus asked less at once, and more again only slowly."""

    def __init__(self, maximum: int, *, initial: int | None = None, grow_after: int = 16) -> None:
        if maximum < 1:
            raise ValueError(f"a concurrency limit is 1 or more, not {maximum}")
        self.maximum = maximum
        self.limit = min(maximum, initial or maximum)
        self.grow_after = grow_after
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

    def succeeded(self) -> None:
        """An answer without throttling: after `grow_after` in a row, one more slot."""
        with self._changed:
            self._streak += 1
            if self._streak >= self.grow_after and self.limit < self.maximum:
                self._streak = 0
                self.limit += 1
                self._changed.notify_all()


_DONE = object()


def fan_out(streams: Iterable[Callable[[], Iterable[T]]], *, workers: int, ahead: int = 2) -> Iterator[T]:
    """Every item of every stream, stream after stream in the order given, while up to
    `workers` streams are fetched at once in threads.

    The order is the sequential walk's, whatever finishes first, so that what the loader does
    with the items (duplicates, "last seen wins", quarantine) cannot depend on thread timing.
    Memory is bounded: at most `workers` streams are started ahead of the one being read, and
    each holds at most `ahead` items; streams are started lazily as the consumer advances. An
    error in a stream is raised to the consumer when it reaches that stream's place; a
    consumer that stops early stops every stream at its next item."""
    if workers <= 1:
        for stream in streams:
            yield from stream()
        return
    stop = threading.Event()
    pending = iter(streams)
    started: list[queue.Queue[Any]] = []

    def run(stream: Callable[[], Iterable[T]], out: queue.Queue[Any]) -> None:
        try:
            for item in stream():
                if not _put(out, ("item", item), stop):
                    return
            _put(out, ("done", _DONE), stop)
        except BaseException as error:  # handed to the consumer at this stream's place
            _put(out, ("error", error), stop)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fan-out") as pool:
        try:
            def start_more() -> None:
                while len(started) < workers:
                    stream = next(pending, None)
                    if stream is None:
                        return
                    out: queue.Queue[Any] = queue.Queue(maxsize=ahead)
                    started.append(out)
                    pool.submit(run, stream, out)

            start_more()
            while started:
                current = started[0]
                while True:
                    kind, value = current.get()
                    if kind == "done":
                        break
                    if kind == "error":
                        raise value
                    yield value
                started.pop(0)
                start_more()
        finally:
            stop.set()


def _put(out: queue.Queue[Any], entry: tuple[str, Any], stop: threading.Event) -> bool:
    while not stop.is_set():
        try:
            out.put(entry, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    """`items` in consecutive runs of at most `size`."""
    return [items[start:start + size] for start in range(0, len(items), size)]
