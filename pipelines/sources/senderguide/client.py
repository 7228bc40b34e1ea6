"""The SenderGuide interaction-data API as a Dagster resource."""

from collections.abc import Iterator
from datetime import date, timedelta
from functools import partial
from typing import Any, ClassVar
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx
from pydantic import Field

from pipelines.orchestration.vendor import VendorResource
from pipelines.transport.concurrency import fan_out
from pipelines.transport.http import BearerAuth, BodyCheck, VendorError, VendorHttp, vendor_text
from pipelines.transport.paging import Page, walk_numbered_pages

VENDOR = "senderguide"
DEFAULT_INTERACTION_TYPES = "sends,opens,clicks,bounces,unsubscribes"
_ENDPOINT = "POST /api/3.0/messages/interaction-data/{messageId}"


def _check_body(endpoint: str, body: Any) -> None:
    """SenderGuide reports failures as result: "error" with a status text."""
    if not isinstance(body, dict):
        raise VendorError(VENDOR, endpoint, 200, "response is not a JSON object")
    if body.get("result") == "error":
        raise VendorError(VENDOR, endpoint, body.get("code"), vendor_text(body.get("status")))


class SenderGuideClient(VendorResource):
    """SenderGuide `POST /api/3.0/messages/interaction-data/{messageId}`, API key as Bearer.

    The account's time zone is configuration: its timestamps and day windows are naive."""

    vendor: ClassVar[str] = VENDOR
    check_body: ClassVar[BodyCheck | None] = _check_body

    base_url: str = Field(description="the tenant's API origin")
    api_key: str = Field(description="API key, sent as Authorization: Bearer")
    message_ids: str = Field(description="comma-separated ids of the emails to report on")
    interaction_types: str = Field(default=DEFAULT_INTERACTION_TYPES,
                                   description="comma-separated interaction types")
    timezone: str | None = Field(default=None, description=(
        "IANA zone of the account's naive timestamps (required: the document gives no zone)"))

    @property
    def messages(self) -> list[str]:
        return _split(self.message_ids)

    @property
    def types(self) -> list[str]:
        return _split(self.interaction_types)

    @property
    def zone(self) -> ZoneInfo:
        return self.vendor_zone(self.timezone, "SENDERGUIDE_TIMEZONE")

    def auth(self) -> httpx.Auth:
        return BearerAuth(self.api_key)

    def start_session(self, http: VendorHttp) -> "SenderGuideSession":
        return SenderGuideSession(http, self.messages, self.types, workers=self.max_concurrency)


class SenderGuideSession:
    """An open connection to SenderGuide for one run."""

    def __init__(self, http: VendorHttp, messages: list[str], types: list[str], *,
                 workers: int = 1) -> None:
        self.http = http
        self.messages = messages
        self.types = types
        self.workers = workers

    def interaction_pages(self, message_id: str, interaction_type: str, day: date) -> Iterator[Page]:
        """Every page of one email's interactions of one type on one account-local day, oldest
        first over a closed window so that pages cannot shift while being read.

        The answer covers the day and, if the vendor reads toDate inclusively, the next day
        too: the loader keeps the day's records (the others count as out of window)."""
        path = f"/api/3.0/messages/interaction-data/{quote(message_id, safe='')}"
        # The document does not say whether toDate is inclusive. Asking toDate = fromDate
        # returns the day if it is, and nothing at all if it is exclusive: a silently empty
        # day. Asking toDate = the next day returns the day under either reading (and the next
        # day as well under the inclusive one), so nothing of the day can be lost; the loader
        # drops what falls outside the partition's account-local day (LoadScope.day). The walk
        # checks the rows against the answer's own total_rows, which counts what was asked.
        from_date, to_date = day.isoformat(), (day + timedelta(days=1)).isoformat()

        def fetch(number: int) -> Any:
            return self.http.request_json("POST", path, endpoint=_ENDPOINT, json={
                "interactionType": interaction_type, "fromDate": from_date,
                "toDate": to_date, "pageNumber": number, "order": "asc"})

        context = {"message_id": message_id, "interaction_type": interaction_type}
        for records in walk_numbered_pages(fetch, vendor=VENDOR, endpoint=_ENDPOINT,
                                           totals_of=_totals, records_of=_records,
                                           workers=self.workers):
            yield Page(records=records, context=context)

    def day_pages(self, day: date) -> Iterator[Page]:
        """Every configured email and interaction type, for one account-local day, in that
        order: the next walk's first page is fetched while this walk's pages are (each walk's
        pages are fetched side by side once its first page tells how many there are)."""
        walks = [partial(self.interaction_pages, message_id, interaction_type, day)
                 for message_id in self.messages for interaction_type in self.types]
        yield from fan_out(walks, workers=min(2, self.workers))


def _split(values: str) -> list[str]:
    return [value.strip() for value in values.split(",") if value.strip()]


def _totals(body: Any) -> tuple[int, int]:
    try:
        return int(body["total_pages"]), int(body["total_rows"])
    except (KeyError, TypeError, ValueError):
        raise VendorError(VENDOR, _ENDPOINT, 200, "page 1 carries no total_pages/total_rows") from None


def _records(body: Any) -> list[Any]:
    records = body.get("data")
    if not isinstance(records, list):
        raise VendorError(VENDOR, _ENDPOINT, 200, "page has no data list")
    return records
