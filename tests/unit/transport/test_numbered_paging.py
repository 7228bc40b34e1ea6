import pytest

from pipelines.transport.paging import PagingError, walk_numbered_pages


def walk(pages: dict[int, dict]) -> list[list]:
    return list(walk_numbered_pages(lambda number: pages[number], vendor="acme", endpoint="POST /x",
                                    totals_of=lambda body: (body["total_pages"], body["total_rows"]),
                                    records_of=lambda body: body["data"]))


def test_pages_follow_the_totals_of_page_one_only() -> None:
    pages = {1: {"total_pages": 3, "total_rows": 5, "data": [1, 2]},
             2: {"data": [3, 4]},  # later pages carry no totals
             3: {"data": [5]}}
    assert walk(pages) == [[1, 2], [3, 4], [5]]


def test_fewer_rows_than_announced_fail_rather_than_load_a_gap() -> None:
    pages = {1: {"total_pages": 2, "total_rows": 5, "data": [1, 2]}, 2: {"data": [3]}}
    with pytest.raises(PagingError, match="received 3 rows in 2 pages, but page 1 announced 5"):
        walk(pages)


def test_more_rows_than_announced_fail_too() -> None:
    pages = {1: {"total_pages": 1, "total_rows": 1, "data": [1, 2]}}
    with pytest.raises(PagingError, match="announced 1"):
        walk(pages)


def test_an_empty_report_is_one_page() -> None:
    assert walk({1: {"total_pages": 0, "total_rows": 0, "data": []}}) == []


def test_an_impossible_page_count_is_not_believed() -> None:
    asked = []

    def fetch(number: int) -> dict:
        asked.append(number)
        return {"total_pages": 10**9, "total_rows": 3, "data": [1, 2, 3]}

    with pytest.raises(PagingError, match="announced 1000000000 pages for 3 rows"):
        list(walk_numbered_pages(fetch, vendor="acme", endpoint="POST /x",
                                 totals_of=lambda body: (body["total_pages"], body["total_rows"]),
                                 records_of=lambda body: body["data"]))
    assert asked == [1]  # nothing past page 1 was asked


def test_a_page_count_over_the_cap_is_refused() -> None:
    pages = {1: {"total_pages": 30, "total_rows": 60, "data": [1, 2]}}
    with pytest.raises(PagingError, match="more than 20 pages"):
        list(walk_numbered_pages(lambda number: pages[number], vendor="acme", endpoint="POST /x",
                                 totals_of=lambda body: (body["total_pages"], body["total_rows"]),
                                 records_of=lambda body: body["data"], max_pages=20))
