"""The CINNOX session against a fake vendor (httpx mock transport): the summary window and its
midnight, paging, the context of each page, the envelope and the error codes."""

from collections.abc import Callable
from datetime import date

import httpx
import pytest

from pipelines.sources.cinnox.client import CinnoxClient, CinnoxSession
from pipelines.transport.http import RetryPolicy, TransientVendorError, VendorError
from pipelines.transport.paging import PagingError

FAST = RetryPolicy(max_attempts=3, initial_backoff_s=0.001, max_backoff_s=0.002)
DAY = date(2026, 11, 13)
DATA = "/v1/api/apps/app-1/data"
TOKEN = "secret-app-token"


def campaign(history_id: str, when: str, channel: str = "SMS") -> dict:
    return {"id": history_id, "date": when, "campaignName": f"Campaign {history_id}",
            "channel": channel, "totalRecipients": 3}


def ok(result: list) -> httpx.Response:
    return httpx.Response(200, json={"code": 0, "result": result, "cid": "c1"})


def session(handler: Callable[[httpx.Request], httpx.Response], limit: int = 2) -> CinnoxSession:
    client = CinnoxClient(base_url="https://cinnox.test", app_id="app-1", app_token=TOKEN)
    http = client.open_http(retry=FAST, transport=httpx.MockTransport(handler))
    return CinnoxSession(http, "app-1", limit)


class FakeCinnox:
    """Summary and detail over fixed rows, paged by offset/limit; records every request."""

    def __init__(self, campaigns: list[dict], recipients: dict[str, list[dict]]) -> None:
        self.campaigns, self.recipients = campaigns, recipients
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        query = request.url.params
        offset, limit = int(query["offset"]), int(query["limit"])
        if request.url.path == f"{DATA}/sent-campaigns-summary":
            rows = self.campaigns
        elif request.url.path == f"{DATA}/sent-campaigns-detail":
            rows = self.recipients[query["historyID"]]
        else:
            return httpx.Response(404, json={"code": 404, "message": "not found"})
        return ok(rows[offset:offset + limit])


def test_lists_the_days_campaigns_then_pages_their_recipients_with_context() -> None:
    vendor = FakeCinnox(
        [campaign("h1", "2026-11-13T00:00:00.000Z"), campaign("h2", "2026-11-13T09:30:12.345Z", "WhatsApp"),
         campaign("h3", "2026-11-13T23:45:00.000Z")],
        {"h1": [{"recipient": n} for n in range(5)], "h2": [{"recipient": 9}], "h3": []})
    pages = list(session(vendor).day_pages(DAY))

    assert [(page.context["history_id"], len(page.records)) for page in pages] == [
        ("h1", 2), ("h1", 2), ("h1", 1), ("h2", 1), ("h3", 0)]
    assert pages[3].context == {"history_id": "h2", "campaign_name": "Campaign h2",
                                "channel": "WhatsApp", "campaign_date": "2026-11-13T09:30:12.345Z"}
    summary = [r for r in vendor.requests if r.url.path.endswith("summary")]
    assert [dict(r.url.params) for r in summary] == [
        {"startAt": "2026-11-13T00:00:00.000Z", "endAt": "2026-11-14T00:00:00.000Z",
         "offset": str(offset), "limit": "2"} for offset in (0, 2)]
    details = [dict(r.url.params) for r in vendor.requests if r.url.path.endswith("detail")]
    assert details[:3] == [{"historyID": "h1", "offset": str(o), "limit": "2"} for o in (0, 2, 4)]
    assert all(r.headers["Authorization"] == f"Bearer {TOKEN}" for r in vendor.requests)


def test_a_campaign_at_the_next_midnight_is_left_to_the_next_day() -> None:
    """CINNOX's endAt is inclusive: the window of the 13th returns the campaign sent at
    2026-11-14T00:00:00.000Z, which belongs to the 14th only."""
    vendor = FakeCinnox([campaign("h1", "2026-11-13T00:00:00.000Z"),
                         campaign("h2", "2026-11-14T00:00:00.000Z"),
                         campaign("h0", "2026-11-13T07:59:59.000+08:00")],  # the 12th in UTC
                        {})
    assert [row["id"] for row in session(vendor, limit=10).campaigns(DAY)] == ["h1"]


def test_a_campaign_repeated_across_summary_pages_is_loaded_once() -> None:
    vendor = FakeCinnox([campaign("h1", "2026-11-13T01:00:00Z"), campaign("h2", "2026-11-13T02:00:00Z"),
                         campaign("h2", "2026-11-13T02:00:00Z"), campaign("h3", "2026-11-13T03:00:00Z")], {})
    assert [row["id"] for row in session(vendor).campaigns(DAY)] == ["h1", "h2", "h3"]


def test_a_summary_date_that_cannot_be_read_keeps_the_campaign() -> None:
    vendor = FakeCinnox([campaign("h1", "13/11/2026")], {})
    assert [row["id"] for row in session(vendor).campaigns(DAY)] == ["h1"]


def test_a_campaign_without_an_id_is_a_vendor_error() -> None:
    vendor = FakeCinnox([{"date": "2026-11-13T01:00:00Z", "channel": "SMS"}], {})
    with pytest.raises(VendorError, match="without a usable id"):
        list(session(vendor).campaigns(DAY))


def test_a_vendor_ignoring_the_offset_is_a_paging_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return ok([campaign("h1", "2026-11-13T01:00:00Z"), campaign("h2", "2026-11-13T02:00:00Z")])

    with pytest.raises(PagingError, match="repeats the previous page"):
        list(session(handler).campaigns(DAY))


@pytest.mark.parametrize("status", [200, 400])
def test_too_many_requests_is_retried(status: int) -> None:
    answers = iter([httpx.Response(status, json={"code": 6451010, "message": "Too many requests"}),
                    ok([])])
    api = session(lambda request: next(answers))
    assert list(api.campaigns(DAY)) == []
    assert (api.http.calls, api.http.retries) == (2, 1)


def test_too_many_requests_that_never_stops_fails_as_transient() -> None:
    api = session(lambda request: httpx.Response(200, json={"code": 6451010, "message": "Too many requests"}))
    with pytest.raises(TransientVendorError, match="code 6451010: Too many requests"):
        list(api.campaigns(DAY))
    assert api.http.calls == FAST.max_attempts


@pytest.mark.parametrize("status", [200, 400])
def test_other_codes_fail_at_once_with_the_vendors_message(status: int) -> None:
    api = session(lambda request: httpx.Response(
        status, json={"code": 6451000, "message": "Invalid time range"}))
    with pytest.raises(VendorError, match="code 6451000: Invalid time range") as raised:
        list(api.campaigns(DAY))
    assert not isinstance(raised.value, TransientVendorError)
    assert raised.value.vendor == "cinnox" and "sent-campaigns-summary" in raised.value.endpoint
    assert api.http.calls == 1


def test_a_bad_token_says_so_without_the_token() -> None:
    api = session(lambda request: httpx.Response(401, json={"code": 401, "message": "Unauthorized"}))
    with pytest.raises(VendorError, match="authentication failed") as raised:
        list(api.campaigns(DAY))
    assert TOKEN not in str(raised.value)


@pytest.mark.parametrize("body", [[], {"result": []}, {"code": 0}, {"code": 0, "result": {"rows": []}}])
def test_a_body_that_is_not_the_envelope_is_an_error(body: object) -> None:
    api = session(lambda request: httpx.Response(200, json=body))
    with pytest.raises(VendorError):
        list(api.campaigns(DAY))
