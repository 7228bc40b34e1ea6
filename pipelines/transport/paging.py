"""Paging, written once: the walkers every source client uses, with their guards."""

import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pipelines.transport.http import VendorError, VendorHttp

T = TypeVar("T")


@dataclass(frozen=True)
class Page:
    """One page of vendor records, with the request context they do not carry themselves
    (program id, message id, interaction type...). The context is kept with each raw record."""

    records: Sequence[Any]
    context: Mapping[str, Any] = field(default_factory=dict)


class PagingError(VendorError):
    """The vendor's paging contradicts itself (a loop, a foreign origin, a short count)."""


def follow_next_urls(http: VendorHttp, path: str, *, endpoint: str, params: Mapping[str, Any],
                     next_url: Callable[[Any], str | None]) -> Iterator[Any]:
    """Yield each page body, following the next-page URL each body names until it names none.

    Next URLs may be absolute or relative; they resolve against the page that named them and
    must stay on the configured origin (credentials are never sent elsewhere). A URL seen twice
    in one walk is an error, not an endless loop."""
    url = http.base_url.join(path).copy_merge_params(params)
    seen: set[str] = set()
    while True:
        if str(url) in seen:
            raise PagingError(http.vendor, endpoint, None, "next page URL repeats an earlier page")
        seen.add(str(url))
        body = http.request_json("GET", url, endpoint=endpoint)
        yield body
        following = next_url(body)
        if not following:
            return
        url = url.join(following)
        if not http.same_origin(url):
            raise PagingError(http.vendor, endpoint, None,
                              f"next page URL points to another origin ({url.host}); not followed")


def prefetch(items: Iterable[T], depth: int = 2) -> Iterator[T]:
    """Iterate `items` in a background thread, at most `depth` ahead of the consumer.

    Lets the next HTTP page download while the current one is mapped and copied; memory stays
    bounded by `depth` pages. An exception in the producer re-raises in the consumer, and a
    consumer that stops early stops the producer."""
    buffer: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def hand_over(kind: str, value: Any) -> bool:
        while not stop.is_set():
            try:
                buffer.put((kind, value), timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not hand_over("item", item):
                    return
            hand_over("done", None)
        except BaseException as error:  # handed to the consumer, not lost in the thread
            hand_over("error", error)

    producer = threading.Thread(target=produce, name="prefetch", daemon=True)
    producer.start()
    try:
        while True:
            kind, value = buffer.get()
            if kind == "done":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        producer.join(timeout=5)


def walk_numbered_pages(fetch: Callable[[int], Any], *, vendor: str, endpoint: str,
                        totals_of: Callable[[Any], tuple[int, int]],
                        records_of: Callable[[Any], Sequence[Any]]) -> Iterator[Sequence[Any]]:
    """Yield the records of pages 1..total_pages, with the totals taken from page 1 (later
    pages may omit them). Fewer or more rows than the advertised total is an error: a silent
    gap, or pages that shifted while being read."""
    first = fetch(1)
    total_pages, total_rows = totals_of(first)
    received = 0
    for number in range(1, total_pages + 1):
        records = records_of(first if number == 1 else fetch(number))
        received += len(records)
        yield records
    if received != total_rows:
        raise PagingError(vendor, endpoint, None,
                          f"received {received} rows in {total_pages} pages, but page 1 "
                          f"announced {total_rows}")


def walk_offsets(fetch: Callable[[int, int], Sequence[Any]], *, limit: int, vendor: str,
                 endpoint: str) -> Iterator[Sequence[Any]]:
    """Yield the records of each page asked for by `fetch(offset, limit)`, from offset 0, until
    a page shorter than `limit` (possibly empty) says there is no more.

    The next offset advances by the records received. A full page that repeats the previous
    page's records exactly means the vendor ignored the offset: an error, not an endless loop."""
    if limit < 1:
        raise ValueError(f"limit must be 1 or more, not {limit}")
    offset = 0
    previous: Sequence[Any] | None = None
    while True:
        records = fetch(offset, limit)
        if previous is not None and records and list(records) == list(previous):
            raise PagingError(vendor, endpoint, None,
                              f"the page at offset {offset} repeats the previous page; "
                              "the offset seems ignored")
        yield records
        if len(records) < limit:
            return
        offset += len(records)
        previous = records
