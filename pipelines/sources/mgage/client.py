"""The mGage SMS export API as a Dagster resource."""

import itertools
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from functools import partial
from typing import Any, ClassVar
from urllib.parse import quote

import httpx
from pydantic import Field

from pipelines.orchestration.vendor import VendorResource
from pipelines.transport.concurrency import fan_out
from pipelines.transport.http import BodyCheck, VendorError, VendorHttp, vendor_text
from pipelines.transport.paging import Page, follow_next_urls

VENDOR = "mgage"
DEFAULT_BASE_URL = "https://communicatepro.mgage.com"
MESSAGE_TYPES = ("MT", "MO")
_ENDPOINT = "GET /api/messages/program/{programId}"
_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"


def _check_body(endpoint: str, body: Any) -> None:
    """mGage reports failures in meta.generalErrors, even under HTTP 200."""
    if not isinstance(body, dict) or not isinstance(body.get("meta"), dict):
        raise VendorError(VENDOR, endpoint, 200, "response has no meta object")
    errors = body["meta"].get("generalErrors")
    if errors:
        raise VendorError(VENDOR, endpoint, 200, f"generalErrors: {vendor_text(errors)}")


class MgageClient(VendorResource):
    """mGage `GET /api/messages/program/{programId}` with HTTP Basic auth.

    Program ids are configuration: the API has no endpoint that lists them."""

    vendor: ClassVar[str] = VENDOR
    check_body: ClassVar[BodyCheck | None] = _check_body

    base_url: str = Field(default=DEFAULT_BASE_URL, description="API origin")
    username: str = Field(description="SMS API user (from Provisioning)")
    password: str = Field(description="SMS API password")
    program_ids: str = Field(description="comma-separated SMS program ids")
    page_size: int = Field(default=500, ge=1, le=500, description="messages per page (max 500)")
    time_slices: int = Field(default=8, description=(
        "a day's window is split into this many slices, each walked along its own nextPageUrl, "
        "side by side (with each program and message type) up to max_concurrency at once"))

    @property
    def programs(self) -> list[str]:
        return [part.strip() for part in self.program_ids.split(",") if part.strip()]

    def auth(self) -> httpx.Auth:
        return httpx.BasicAuth(self.username, self.password)

    def start_session(self, http: VendorHttp) -> "MgageSession":
        return MgageSession(http, self.page_size, self.programs, time_slices=self.time_slices,
                            workers=self.max_concurrency)


class MgageSession:
    """An open connection to mGage for one run."""

    def __init__(self, http: VendorHttp, page_size: int, programs: list[str], *,
                 time_slices: int = 1, workers: int = 1) -> None:
        self.http = http
        self.page_size = page_size
        self.programs = programs
        self.time_slices = time_slices
        self.workers = workers

    def message_pages(self, program_id: str, message_type: str, start: datetime,
                      end: datetime) -> Iterator[Page]:
        """Every page of one program's messages of one type between `start` and `end` (GMT)."""
        # The document's own nextPageUrl example (`…/program/121811?page=2`) carries none of
        # these filters, and without them the vendor answers both types, a year back, 50 a
        # page. So follow_next_urls adds back every filter a next URL omits (keeping its
        # `page`), and stops with an error if a next URL names one with another value.
        params = {"messageType": message_type, "startDate": start.strftime(_DATE_FORMAT),
                  "endDate": end.strftime(_DATE_FORMAT), "pageSize": self.page_size}
        bodies = follow_next_urls(self.http, f"/api/messages/program/{quote(program_id, safe='')}",
                                  endpoint=_ENDPOINT, params=params,
                                  next_url=lambda body: body["meta"].get("nextPageUrl"),
                                  is_empty=lambda body: not (body.get("data") or {}).get("messages"))
        for body in bodies:
            data = body.get("data") or {}
            yield Page(records=data.get("messages") or [], context={
                "program_id": program_id,
                "message_type": message_type,
                "program_name": data.get("programName"),
                "program_type": data.get("programType"),
                "campaign_name": data.get("campaignName"),
            })

    def day_pages(self, day: date) -> Iterator[Page]:
        """Every MT and MO page of every configured program for one UTC day, each program,
        type and time slice walked side by side, their pages taking turns (fan_out) in an order
        that does not depend on which answer came first.

        The window ends at the next midnight, inclusive: messages stamped exactly then come
        back too and are left to the next day's partition by the loader."""
        start = datetime.combine(day, time())
        walks = [partial(self.message_pages, program_id, message_type, first, last)
                 for program_id in self.programs for message_type in MESSAGE_TYPES
                 for first, last in day_slices(start, self.time_slices)]
        yield from fan_out(walks, workers=self.workers)


def day_slices(start: datetime, count: int) -> list[tuple[datetime, datetime]]:
    """The day from `start` as `count` windows [first, last], both ends inclusive as mGage
    reads them, each ending where the next begins. A message stamped exactly on a bound comes
    back in both windows and loads once (the loader drops a record seen again); windows that
    left a second between them would lose what the vendor stamps within it, since its filter
    takes whole seconds and nothing says its clock does."""
    if not 1 <= count <= 24 * 3600:  # bound to a variable: only known at run time
        raise ValueError(f"MGAGE_TIME_SLICES must be between 1 and 86400, not {count}")
    bounds = [start + timedelta(seconds=24 * 3600 * number // count) for number in range(count + 1)]
    return list(itertools.pairwise(bounds))
