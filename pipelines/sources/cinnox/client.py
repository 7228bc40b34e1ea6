"""The CINNOX open API's sent-campaign reports as a Dagster resource."""

from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import Any, ClassVar
from urllib.parse import quote

import httpx
from pydantic import Field

from pipelines.model.events import RecordRejected
from pipelines.model.timestamps import parse_vendor_time
from pipelines.orchestration.vendor import VendorResource
from pipelines.transport.concurrency import fan_out
from pipelines.transport.http import (
    TRANSIENT_STATUSES,
    BearerAuth,
    BodyCheck,
    ErrorCheck,
    TransientVendorError,
    VendorError,
    VendorHttp,
    vendor_text,
)
from pipelines.transport.paging import Page, walk_offsets

VENDOR = "cinnox"
SUMMARY_ENDPOINT = "GET /v1/api/apps/{appID}/data/sent-campaigns-summary"
DETAIL_ENDPOINT = "GET /v1/api/apps/{appID}/data/sent-campaigns-detail"
# The vendor's code for "too many requests": retried like HTTP 429. Other codes (6451000 for a
# bad range, offset or limit...) fail the load with the vendor's message.
TOO_MANY_REQUESTS = 6451010


def _check_body(endpoint: str, body: Any) -> None:
    """A 200 answer is `{code, result, cid}`; a code other than 0 is a failure."""
    if not isinstance(body, dict) or "code" not in body:
        raise VendorError(VENDOR, endpoint, 200, "response is not a {code, result} envelope")
    _raise_for_code(endpoint, 200, body)
    if not isinstance(body.get("result"), list):
        raise VendorError(VENDOR, endpoint, 200, "response has no result list")


def _check_error(endpoint: str, status: int, body: Any) -> None:
    """Error answers are `{code, message}`: name the code, and retry "too many requests"."""
    if status not in (401, 403, *TRANSIENT_STATUSES) and isinstance(body, dict) and "code" in body:
        _raise_for_code(endpoint, status, body)


def _raise_for_code(endpoint: str, status: int, body: dict[str, Any]) -> None:
    code = str(body.get("code"))
    if code == "0":
        return
    detail = f"code {code}: {vendor_text(body.get('message') or 'no message')}"
    if code == str(TOO_MANY_REQUESTS):
        raise TransientVendorError(VENDOR, endpoint, status, detail, vendor_code=code, throttled=True)
    raise VendorError(VENDOR, endpoint, status, detail, vendor_code=code)


class CinnoxClient(VendorResource):
    """CINNOX `sent-campaigns-summary` and `sent-campaigns-detail`, App Token as Bearer.

    Recipient statuses keep changing for days after a send (Pending, Delivered, Read), so
    recent days are re-pulled: the source's lookback schedule says how many
    (`pipelines/sources/cinnox/__init__.py`)."""

    vendor: ClassVar[str] = VENDOR
    check_body: ClassVar[BodyCheck | None] = _check_body
    check_error: ClassVar[ErrorCheck | None] = _check_error
    headers: ClassVar[Mapping[str, str]] = {"Accept": "application/json"}

    base_url: str = Field(description="API origin from the CINNOX dashboard")
    app_id: str = Field(description="App ID from the CINNOX dashboard")
    app_token: str = Field(description="App Token, sent as Authorization: Bearer")
    page_limit: int = Field(default=100, ge=1,
                            description="rows per page, at most the vendor's maximum")

    def auth(self) -> httpx.Auth:
        return BearerAuth(self.app_token)

    def start_session(self, http: VendorHttp) -> "CinnoxSession":
        return CinnoxSession(http, self.app_id, self.page_limit, workers=self.max_concurrency)


class CinnoxSession:
    """An open connection to CINNOX for one run."""

    def __init__(self, http: VendorHttp, app_id: str, page_limit: int, *, workers: int = 1) -> None:
        self.http = http
        self.page_limit = page_limit
        self.workers = workers
        self._data_path = f"/v1/api/apps/{quote(app_id, safe='')}/data"

    def _result(self, endpoint_path: str, endpoint: str, params: dict[str, Any]) -> list[Any]:
        body = self.http.request_json("GET", f"{self._data_path}/{endpoint_path}",
                                      endpoint=endpoint, params=params)
        result: list[Any] = body["result"]  # a list: checked by _check_body
        return result

    def campaigns(self, day: date) -> Iterator[dict[str, Any]]:
        """The summary rows of the campaigns sent on the UTC `day`, each once.

        The window asked for is [day 00:00, next day 00:00]; CINNOX treats both ends as
        inclusive, so a campaign sent exactly at the next midnight comes back too. Rows whose
        `date` is not on `day` are dropped here and loaded by their own day, so every campaign
        belongs to exactly one partition whatever the vendor's bounds. A row whose date cannot
        be read is kept: the vendor placed it in this day's window."""
        start = datetime.combine(day, time(), UTC)
        window = {"startAt": _rfc3339(start), "endAt": _rfc3339(start + timedelta(days=1))}

        def fetch(offset: int, limit: int) -> list[Any]:
            return self._result("sent-campaigns-summary", SUMMARY_ENDPOINT,
                                window | {"offset": offset, "limit": limit})

        seen: set[str] = set()
        for rows in walk_offsets(fetch, limit=self.page_limit, vendor=VENDOR,
                                 endpoint=SUMMARY_ENDPOINT):
            for row in rows:
                history_id = _history_id(row)
                if history_id in seen or not _sent_on(row, day):
                    continue
                seen.add(history_id)
                yield row

    def recipient_pages(self, campaign: dict[str, Any]) -> Iterator[Page]:
        """Every page of one sent campaign's recipients, with the campaign's summary facts the
        detail rows lack (historyID, name, channel, send date) as the page's context."""
        history_id = _history_id(campaign)
        context = {
            "history_id": history_id,
            "campaign_name": campaign.get("campaignName"),
            "channel": campaign.get("channel"),
            "campaign_date": campaign.get("date"),
        }

        def fetch(offset: int, limit: int) -> list[Any]:
            return self._result("sent-campaigns-detail", DETAIL_ENDPOINT,
                                {"historyID": history_id, "offset": offset, "limit": limit})

        for records in walk_offsets(fetch, limit=self.page_limit, vendor=VENDOR,
                                    endpoint=DETAIL_ENDPOINT, total=_total_recipients(campaign),
                                    workers=self.workers):
            yield Page(records=records, context=context)

    def day_pages(self, day: date) -> Iterator[Page]:
        """Every recipient of every campaign sent on the UTC `day`, page by page: campaigns
        side by side, and a campaign's pages too once its size is known, in an order that
        does not depend on which answer came first (fan_out)."""
        campaigns = [partial(self.recipient_pages, campaign) for campaign in self.campaigns(day)]
        yield from fan_out(campaigns, workers=min(2, self.workers))


def _total_recipients(campaign: dict[str, Any]) -> int | None:
    """The summary's `totalRecipients`, when it is a usable count (the walk checks it)."""
    value = campaign.get("totalRecipients")
    if isinstance(value, bool):
        return None
    try:
        total = int(value) if value is not None else None
    except (TypeError, ValueError):
        return None
    return total if total is not None and total >= 0 else None


def _rfc3339(moment: datetime) -> str:
    """`2026-11-20T00:00:00.000Z`, as CINNOX writes its times."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _history_id(row: Any) -> str:
    """The summary row's `id`, the historyID the detail endpoint asks for."""
    history_id = row.get("id") if isinstance(row, dict) else None
    if isinstance(history_id, bool) or not isinstance(history_id, str | int) or history_id == "":
        raise VendorError(VENDOR, SUMMARY_ENDPOINT, 200,
                          f"a sent campaign without a usable id (historyID): {str(row)[:200]}")
    return str(history_id)


def _sent_on(row: dict[str, Any], day: date) -> bool:
    try:
        return parse_vendor_time(row.get("date")).date() == day
    except RecordRejected:
        return True
