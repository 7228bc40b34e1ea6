"""Paging, written once: the walkers every source client uses, with their guards."""

import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from itertools import chain
from typing import Any, TypeVar

import httpx

from pipelines.transport.concurrency import fan_out
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


# Bounds on a walk, whatever the vendor says: a day of one program or email at the vendors'
# page sizes is far below them, and a vendor that keeps naming new pages (or announces 10^9 of
# them) is stopped with an error instead of being walked for ever.
MAX_PAGES = 100_000
MAX_EMPTY_PAGES_IN_A_ROW = 10


def _check_page_count(vendor: str, endpoint: str, pages: int, max_pages: int) -> None:
    if pages > max_pages:
        raise PagingError(vendor, endpoint, None,
                          f"more than {max_pages} pages in one walk; stopped (raise the cap if real)")


def follow_next_urls(http: VendorHttp, path: str, *, endpoint: str, params: Mapping[str, Any],
                     next_url: Callable[[Any], str | None],
                     is_empty: Callable[[Any], bool] = lambda body: False,
                     max_pages: int = MAX_PAGES) -> Iterator[Any]:
    """Yield each page body, following the next-page URL each body names until it names none.

    Next URLs may be absolute or relative; they resolve against the page that named them and
    must stay on the configured origin (credentials are never sent elsewhere). A next URL keeps
    the first request's filters: each query parameter it omits is added back, and one it
    carries with another value is an error (see `_keep_filters`). A URL seen twice in one walk
    is an error, not an endless loop; so are more than `max_pages` pages and more than
    MAX_EMPTY_PAGES_IN_A_ROW empty pages (by `is_empty`) that still name a next one."""
    url = http.base_url.join(path).copy_merge_params(params)
    asked = url.params  # the walk's filters, as the first request sent them
    seen: set[str] = set()
    empty_in_a_row = 0
    while True:
        if str(url) in seen:
            raise PagingError(http.vendor, endpoint, None, "next page URL repeats an earlier page")
        seen.add(str(url))
        _check_page_count(http.vendor, endpoint, len(seen), max_pages)
        body = http.request_json("GET", url, endpoint=endpoint)
        empty_in_a_row = empty_in_a_row + 1 if is_empty(body) else 0
        if empty_in_a_row > MAX_EMPTY_PAGES_IN_A_ROW:
            raise PagingError(http.vendor, endpoint, None,
                              f"{empty_in_a_row} empty pages in a row still name a next page; stopped")
        yield body
        following = next_url(body)
        if not following:
            return
        url = url.join(following)
        if not http.same_origin(url):
            raise PagingError(http.vendor, endpoint, None,
                              f"next page URL points to another origin ({url.host}); not followed")
        url = _keep_filters(url, asked, http.vendor, endpoint)


def _keep_filters(url: httpx.URL, asked: httpx.QueryParams, vendor: str, endpoint: str) -> httpx.URL:
    """`url` with every query parameter of the first request that it omits added back.

    A vendor's next-page URL may drop the request's filters: mGage's own example is
    `…/program/121811?page=2`, and there a request without dates, type or page size means a
    whole year of both types at 50 a page. Following it as given would load far more than the
    window asked for, silently. So a parameter the next URL omits is added back with the
    request's value(s), and the parameters it names itself (`page`, a cursor) are kept as
    given. A parameter it names with another value than the request's is an error rather than
    a guess: following it would read another window, and overriding it could skip or repeat
    pages. The message names the parameter, never its values (they may be personal data)."""
    given = url.params
    missing: dict[str, list[str]] = {}
    for name in asked.keys():
        if name not in given:
            missing[name] = asked.get_list(name)
        elif sorted(given.get_list(name)) != sorted(asked.get_list(name)):
            raise PagingError(vendor, endpoint, None,
                              f"next page URL changes the request's {name!r} parameter; not "
                              "followed, as it would load another window than the one asked for")
    return url.copy_merge_params(missing) if missing else url


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
        finally:  # a generator left early is closed here, by the thread that ran it
            if (close := getattr(items, "close", None)) is not None:
                close()

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
                        records_of: Callable[[Any], Sequence[Any]],
                        max_pages: int = MAX_PAGES, workers: int = 1) -> Iterator[Sequence[Any]]:
    """Yield the records of pages 1..total_pages, with the totals taken from page 1 (later
    pages may omit them); pages 2.. are fetched `workers` at a time, and yielded in order.
    Fewer or more rows than the advertised total is an error: a silent gap, or pages that
    shifted while being read."""
    first = fetch(1)
    total_pages, total_rows = totals_of(first)
    # Each page holds at least one row (an empty answer: one page at most).
    if not 0 <= total_pages <= max(1, total_rows) or total_rows < 0:
        raise PagingError(vendor, endpoint, None,
                          f"page 1 announced {total_pages} pages for {total_rows} rows; not believed")
    _check_page_count(vendor, endpoint, total_pages, max_pages)
    received = 0
    rest = [partial(_one_page, fetch, records_of, number) for number in range(2, total_pages + 1)]
    for records in chain([records_of(first)] if total_pages else [], fan_out(rest, workers=workers)):
        received += len(records)
        yield records
    if received != total_rows:
        raise PagingError(vendor, endpoint, None,
                          f"received {received} rows in {total_pages} pages, but page 1 "
                          f"announced {total_rows}")


def _one_page(fetch: Callable[[int], Any], records_of: Callable[[Any], Sequence[Any]],
              number: int) -> list[Sequence[Any]]:
    return [records_of(fetch(number))]


def walk_offsets(fetch: Callable[[int, int], Sequence[Any]], *, limit: int, vendor: str,
                 endpoint: str, max_pages: int = MAX_PAGES, total: int | None = None,
                 workers: int = 1) -> Iterator[Sequence[Any]]:
    """Yield the records of each page asked for by `fetch(offset, limit)`, from offset 0, until
    a page shorter than `limit` (possibly empty) says there is no more.

    The next offset advances by the records received. A full page that repeats the previous
    page's records exactly means the vendor ignored the offset: an error, not an endless loop.

    When the vendor announced how many rows there are (`total`), the pages up to it are
    fetched `workers` at a time (and yielded in order); if the last of them is still full, the
    walk goes on one page at a time from there, so an announced total that is too low loses
    nothing."""
    if limit < 1:
        raise ValueError(f"limit must be 1 or more, not {limit}")
    offset = 0
    previous: Sequence[Any] | None = None
    pages = 0
    if total is not None and total > 0 and workers > 1:
        offsets = range(0, total, limit)
        _check_page_count(vendor, endpoint, len(offsets), max_pages)
        for records in fan_out([partial(_page_at, fetch, start, limit) for start in offsets], workers=workers):
            pages += 1
            if previous is not None and records and list(records) == list(previous) and len(records) == limit:
                raise PagingError(vendor, endpoint, None, "a page repeats the previous page; "
                                                          "the offset seems ignored")
            yield records
            previous = records
        if previous is not None and len(previous) < limit:
            return
        offset = len(offsets) * limit
    while True:
        pages += 1
        _check_page_count(vendor, endpoint, pages, max_pages)
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


def _page_at(fetch: Callable[[int, int], Sequence[Any]], offset: int, limit: int) -> list[Sequence[Any]]:
    return [fetch(offset, limit)]
