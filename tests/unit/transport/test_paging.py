import threading
import time

import httpx
import pytest

from pipelines.transport.http import VendorHttp
from pipelines.transport.paging import PagingError, follow_next_urls, prefetch


def serving(pages: dict[str, dict]) -> tuple[VendorHttp, list[httpx.Request]]:
    """A fake vendor answering each path+query from `pages`."""
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        key = request.url.raw_path.decode()
        return httpx.Response(200, json=pages[key]) if key in pages else httpx.Response(404)

    http = VendorHttp("acme", "https://api.acme.test", transport=httpx.MockTransport(handler),
                      auth=httpx.BasicAuth("u", "p"))
    return http, requests


def walk(http: VendorHttp) -> list[dict]:
    return list(follow_next_urls(http, "/items", endpoint="GET /items", params={"size": 2},
                                 next_url=lambda body: body["next"]))


def test_follows_absolute_and_relative_next_urls_until_none() -> None:
    http, requests = serving({
        "/items?size=2": {"n": 1, "next": "https://api.acme.test/items?size=2&page=2"},
        "/items?size=2&page=2": {"n": 2, "next": "/items?size=2&page=3"},
        "/items?size=2&page=3": {"n": 3, "next": "?size=2&page=4"},
        "/items?size=2&page=4": {"n": 4, "next": None},
    })
    assert [body["n"] for body in walk(http)] == [1, 2, 3, 4]
    assert all(request.headers["Authorization"].startswith("Basic") for request in requests)


def test_a_next_url_seen_before_is_an_error_not_a_loop() -> None:
    http, requests = serving({
        "/items?size=2": {"n": 1, "next": "/items?size=2&page=2"},
        "/items?size=2&page=2": {"n": 2, "next": "/items?size=2"},
    })
    with pytest.raises(PagingError, match="repeats"):
        walk(http)
    assert len(requests) == 2


def test_a_next_url_on_another_origin_is_not_followed() -> None:
    http, requests = serving({"/items?size=2": {"n": 1, "next": "https://elsewhere.test/items?page=2"}})
    with pytest.raises(PagingError, match="another origin"):
        walk(http)
    assert len(requests) == 1


def test_prefetch_keeps_order_and_stays_bounded() -> None:
    produced = []

    def numbers():
        for n in range(20):
            produced.append(n)
            yield n

    consumer = prefetch(numbers(), depth=2)
    assert next(consumer) == 0
    time.sleep(0.05)
    assert len(produced) <= 4  # the one consumed, up to two buffered, one in hand
    assert list(consumer) == list(range(1, 20))


def test_prefetch_reraises_the_producers_error_in_the_consumer() -> None:
    def failing():
        yield 1
        raise ValueError("page 2 broke")

    consumer = prefetch(failing())
    assert next(consumer) == 1
    with pytest.raises(ValueError, match="page 2 broke"):
        next(consumer)


def test_prefetch_stops_its_thread_when_the_consumer_stops_early() -> None:
    def endless():
        n = 0
        while True:
            n += 1
            yield n

    before = threading.active_count()
    consumer = prefetch(endless())
    assert next(consumer) == 1
    consumer.close()
    deadline = time.monotonic() + 2
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert threading.active_count() == before


def test_prefetch_closes_a_generator_it_stops_early() -> None:
    """A consumer that stops early closes the walk too (its HTTP session, its own threads)."""
    closed = threading.Event()

    def pages():
        try:
            yield from range(100)
        finally:
            closed.set()

    consumer = prefetch(pages())
    assert next(consumer) == 0
    consumer.close()
    assert closed.wait(timeout=10)


def endless(empty: bool) -> VendorHttp:
    """A vendor that always names a new next page (each page empty, or holding one item)."""
    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("page", "1"))
        return httpx.Response(200, json={"items": [] if empty else [page], "next": f"/items?page={page + 1}"})

    return VendorHttp("acme", "https://api.acme.test", transport=httpx.MockTransport(handler))


def test_empty_pages_that_keep_naming_a_next_page_stop_the_walk() -> None:
    walked = follow_next_urls(endless(empty=True), "/items", endpoint="GET /items", params={},
                              next_url=lambda body: body["next"], is_empty=lambda body: not body["items"])
    with pytest.raises(PagingError, match="11 empty pages in a row"):
        list(walked)


def test_a_walk_stops_at_its_page_cap() -> None:
    walked = follow_next_urls(endless(empty=False), "/items", endpoint="GET /items", params={},
                              next_url=lambda body: body["next"], max_pages=25)
    pages = []
    with pytest.raises(PagingError, match="more than 25 pages"):
        pages.extend(walked)
    assert len(pages) == 25


def filtered_walk(http: VendorHttp, params: dict) -> list[dict]:
    return list(follow_next_urls(http, "/items", endpoint="GET /items", params=params,
                                 next_url=lambda body: body["next"]))


def test_a_next_url_without_the_filters_gets_them_back() -> None:
    # mGage's own example: `…/program/121811?page=2`, the request's filters gone.
    http, requests = serving({
        "/items?type=MT&start=2026-11-30T00%3A00%3A00&size=2": {"n": 1, "next": "/items?page=2"},
        "/items?page=2&type=MT&start=2026-11-30T00%3A00%3A00&size=2":
            {"n": 2, "next": "https://api.acme.test/items?page=3&size=2"},
        "/items?page=3&size=2&type=MT&start=2026-11-30T00%3A00%3A00": {"n": 3, "next": None},
    })
    bodies = filtered_walk(http, {"type": "MT", "start": "2026-11-30T00:00:00", "size": 2})
    assert [body["n"] for body in bodies] == [1, 2, 3]
    for request in requests:  # every page asked with the whole filter, its own page kept
        assert {name: request.url.params[name] for name in ("type", "start", "size")} == {
            "type": "MT", "start": "2026-11-30T00:00:00", "size": "2"}
    assert [request.url.params.get("page") for request in requests] == [None, "2", "3"]


def test_a_next_url_repeating_the_filters_in_another_encoding_is_followed_as_given() -> None:
    http, requests = serving({
        "/items?start=2026-11-30T00%3A00%3A00&tag=a&tag=b":
            {"n": 1, "next": "?tag=b&tag=a&start=2026-11-30T00:00:00&page=2"},
        "/items?tag=b&tag=a&start=2026-11-30T00:00:00&page=2": {"n": 2, "next": "/items?page=3"},
        "/items?page=3&start=2026-11-30T00%3A00%3A00&tag=a&tag=b": {"n": 3, "next": None},
    })
    bodies = filtered_walk(http, {"start": "2026-11-30T00:00:00", "tag": ["a", "b"]})
    assert [body["n"] for body in bodies] == [1, 2, 3]
    assert requests[2].url.params.get_list("tag") == ["a", "b"]  # a multi-valued filter comes back whole


@pytest.mark.parametrize("next_url", ["/items?number=15550000000&page=2", "/items?number=&page=2",
                                      "/items?number=15556667777&number=15550000000&page=2"])
def test_a_next_url_that_changes_a_filter_is_an_error_naming_only_the_parameter(next_url: str) -> None:
    http, requests = serving({"/items?number=15556667777": {"n": 1, "next": next_url}})
    with pytest.raises(PagingError, match="changes the request's 'number' parameter") as raised:
        filtered_walk(http, {"number": "15556667777"})
    assert len(requests) == 1
    assert "1555" not in str(raised.value)  # no value: it may be personal data


def test_a_filterless_next_url_back_to_the_first_page_is_still_a_loop() -> None:
    http, requests = serving({
        "/items?size=2": {"n": 1, "next": "/items?page=2"},
        "/items?page=2&size=2": {"n": 2, "next": "/items"},
    })
    with pytest.raises(PagingError, match="repeats"):
        walk(http)
    assert len(requests) == 2
