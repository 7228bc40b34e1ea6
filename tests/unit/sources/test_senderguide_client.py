"""The SenderGuide client against a fake tenant whose undocumented toDate is inclusive or
exclusive: the day is asked as fromDate = day, toDate = day + 1, so that no record of the day
is lost under either reading, and the loader leaves the next day's records to their own day."""

import json
from datetime import date, timedelta
from functools import partial
from zoneinfo import ZoneInfo

import httpx
import pytest

from pipelines.sources.senderguide.client import SenderGuideClient
from pipelines.sources.senderguide.mapping import map_interaction
from pipelines.transport.http import RetryPolicy
from pipelines.warehouse.loading import LoadScope, LoadStats, LoadTarget, Stamp, stage_rows

FAST = RetryPolicy(max_attempts=2, initial_backoff_s=0.001, max_backoff_s=0.002)
ZONE = ZoneInfo("America/New_York")
DAY = date(2026, 11, 1)  # 25 hours in New York
NEXT = DAY + timedelta(days=1)
PAGE_SIZE = 100


def interaction(day: date, n: int) -> dict:
    when = f"{day} {n // 3600 % 24:02d}:{n // 60 % 60:02d}:{n % 60:02d}"
    return {"contact_id": 1000 + n, "contact_email": f"c{n}@example.com", "send_date": when,
            "interaction_type": "sends", "interaction_date": when, "message_id": 7001}


def tenant(per_day: dict[date, int], inclusive: bool, asked: list[dict]) -> httpx.MockTransport:
    """Pages of 100 (totals on page 1 only) of the records from fromDate to toDate."""
    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        asked.append(body)
        first, to = date.fromisoformat(body["fromDate"]), date.fromisoformat(body["toDate"])
        rows = [interaction(day, n) for day in sorted(per_day)
                if first <= day and (day <= to if inclusive else day < to) for n in range(per_day[day])]
        page = body["pageNumber"]
        data = [row | {"page_number": page} for row in rows[(page - 1) * PAGE_SIZE:page * PAGE_SIZE]]
        if page > 1:
            return httpx.Response(200, json={"result": "success", "data": data})
        return httpx.Response(200, json={"result": "success", "page_size": PAGE_SIZE, "data": data,
                                         "total_pages": -(-len(rows) // PAGE_SIZE), "total_rows": len(rows)})

    return httpx.MockTransport(handler)


@pytest.mark.parametrize(("inclusive", "fetched"), [(True, 250 + 130), (False, 250)])
def test_the_day_is_loaded_whole_whether_to_date_is_inclusive_or_not(inclusive: bool, fetched: int) -> None:
    asked: list[dict] = []
    client = SenderGuideClient(base_url="https://tenant.senderguide.test", api_key="k",
                               message_ids="7001", interaction_types="sends", timezone=str(ZONE))
    with client.session(transport=tenant({DAY - timedelta(days=1): 40, DAY: 250, NEXT: 130},
                                         inclusive, asked), retry=FAST) as api:
        pages = list(api.day_pages(DAY))  # the walk holds the rows to the answer's total_rows
    assert {(body["fromDate"], body["toDate"], body["order"]) for body in asked} == {
        (DAY.isoformat(), NEXT.isoformat(), "asc")}
    assert sum(len(page.records) for page in pages) == fetched

    # The loader keeps the partition's account-local day and counts the rest out of window.
    scope = LoadScope.day(LoadTarget("senderguide", "raw.senderguide_interactions"), DAY, ZONE)
    stats = LoadStats("senderguide", scope.key)
    mapper = partial(map_interaction, zone=ZONE)
    rows = [row for page in pages for row in stage_rows(page, mapper, scope, stats, Stamp("test-pii-key"))]
    assert len(rows) == 250 and stats.quarantined == 0
    assert (stats.records_fetched, stats.out_of_window) == (fetched, fetched - 250)
