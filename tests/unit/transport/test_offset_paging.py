"""walk_offsets: offset/limit paging until a short page, with its repeat guard."""

from collections.abc import Sequence

import pytest

from pipelines.transport.paging import PagingError, walk_offsets


def serving(rows: list[int]):
    """A fake fetch over `rows` that honours offset and limit, and records what it was asked."""
    asked: list[tuple[int, int]] = []

    def fetch(offset: int, limit: int) -> Sequence[int]:
        asked.append((offset, limit))
        return rows[offset:offset + limit]

    return fetch, asked


def walk(fetch, limit: int) -> list[Sequence[int]]:
    return list(walk_offsets(fetch, limit=limit, vendor="acme", endpoint="GET /items"))


def test_pages_until_a_short_page() -> None:
    fetch, asked = serving(list(range(7)))
    assert walk(fetch, 3) == [[0, 1, 2], [3, 4, 5], [6]]
    assert asked == [(0, 3), (3, 3), (6, 3)]


def test_an_exact_multiple_ends_with_an_empty_page() -> None:
    fetch, asked = serving(list(range(6)))
    assert walk(fetch, 3) == [[0, 1, 2], [3, 4, 5], []]
    assert asked[-1] == (6, 3)


def test_nothing_at_all_is_one_empty_page() -> None:
    fetch, asked = serving([])
    assert walk(fetch, 5) == [[]]
    assert asked == [(0, 5)]


def test_the_offset_advances_by_the_records_received() -> None:
    """A vendor that sends more than asked (ignoring the limit, not the offset) loses nothing."""
    rows = list(range(10))
    asked: list[int] = []

    def fetch(offset: int, limit: int) -> Sequence[int]:
        asked.append(offset)
        return rows[offset:offset + limit + 1]

    assert [record for page in walk(fetch, 3) for record in page] == rows
    assert asked == [0, 4, 8]


def test_a_page_repeating_the_previous_one_is_an_error() -> None:
    """The vendor ignores the offset: every call answers the first page."""
    calls = 0

    def fetch(offset: int, limit: int) -> Sequence[int]:
        nonlocal calls
        calls += 1
        return [1, 2, 3]

    pages = walk_offsets(fetch, limit=3, vendor="acme", endpoint="GET /items")
    assert next(pages) == [1, 2, 3]
    with pytest.raises(PagingError, match="repeats the previous page") as raised:
        next(pages)
    assert calls == 2
    assert raised.value.vendor == "acme" and raised.value.endpoint == "GET /items"


def test_equal_records_on_different_pages_are_not_mistaken_for_a_repeat() -> None:
    fetch, _ = serving([1, 2, 3, 1, 2, 4, 1, 2])
    assert walk(fetch, 3) == [[1, 2, 3], [1, 2, 4], [1, 2]]


def test_is_lazy_one_page_per_step() -> None:
    fetch, asked = serving(list(range(10)))
    pages = walk_offsets(fetch, limit=2, vendor="acme", endpoint="GET /items")
    next(pages)
    assert asked == [(0, 2)]


def test_limit_must_be_positive() -> None:
    fetch, _ = serving([])
    with pytest.raises(ValueError, match="limit"):
        walk(fetch, 0)


def test_an_offset_walk_stops_at_its_page_cap() -> None:
    fetch, asked = serving(list(range(1_000)))
    with pytest.raises(PagingError, match="more than 5 pages"):
        list(walk_offsets(fetch, limit=10, vendor="acme", endpoint="GET /x", max_pages=5))
    assert len(asked) == 5
