"""SenderGuide email interaction data: POST /api/3.0/messages/interaction-data/{messageId},
`Authorization: Bearer <api key>`, JSON body {interactionType, fromDate, toDate, pageNumber,
order}, pages of 100.

Quirks reproduced: page 1 carries `page_size`, `total_pages` and `total_rows`, later pages only
`result` and `data`; every record repeats the requested `page_number`; timestamps are naive
`YYYY-MM-DD HH:MM:SS` in the account's zone (config), spread over whole local days including
DST changes (nothing at a skipped local time, records on both passes of a repeated hour, which
the naive text cannot tell apart), ordered by that naive text as the vendor stores it;
fromDate/toDate are local dates, fromDate inclusive and toDate exclusive in documented mode
(`SandboxConfig.documented`, the default: the document does not say, and the harsher reading
returns an empty window for fromDate = toDate), both inclusive with `documented=False`; a
toDate before fromDate is a 400; `contact_email` sometimes in mixed case;
opens, clicks and unsubscribes refer to a send up to three days earlier (`send_date` on an
earlier day than `interaction_date`); a pageNumber past the end answers an empty page; errors
are {"result": "error", "status": <text>, "code": <int>}: 400 for a bad body (missing field,
"pageNumber is not numeric", bad order or date), 401 for a bad key, 404 for an unknown message.
Interactions are facts, so nothing here moves with the sandbox generation."""

import re
from bisect import bisect_right
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from itertools import accumulate
from typing import Any

from sandbox.config import SandboxConfig
from sandbox.data import Draw, LocalDay, local_day, naive_text, spread_slot
from sandbox.server import Request, Response, Router, SandboxState, json_response
from sandbox.vendors.auth import bearer_ok

PATH = r"/api/3.0/messages/interaction-data/(?P<message_id>[^/]+)"
PAGE_SIZE = 100
INTERACTION_TYPES = ("sends", "opens", "clicks", "bounces", "unsubscribes")

# Days between the send and the interaction it caused (0 = same local day).
_LAGS: dict[str, list[tuple[int, float]]] = {
    "opens": [(0, 0.6), (1, 0.25), (2, 0.1), (3, 0.05)],
    "clicks": [(0, 0.7), (1, 0.2), (2, 0.1)],
    "bounces": [(0, 1.0)],
    "unsubscribes": [(0, 0.5), (1, 0.3), (2, 0.15), (3, 0.05)],
}
_FIRST_NAMES = ("james", "maria", "wei", "aisha", "john", "sofia", "liam", "priya", "noah",
                "emma", "carlos", "yuki", "olivia", "ahmed", "grace", "lucas")
_LAST_NAMES = ("smith", "garcia", "chen", "khan", "johnson", "rossi", "nguyen", "patel",
               "brown", "silva", "kim", "muller", "okafor", "davis")
_DOMAINS = ("example.com", "example.net", "example.org", "mail.example.com", "corp.example.org")


class SenderGuideApi:
    def __init__(self, config: SandboxConfig, state: SandboxState) -> None:
        self.config = config
        self.settings = config.senderguide
        self.state = state

    def register(self, router: Router) -> None:
        router.add("POST", PATH, self.handle)

    # -- data -----------------------------------------------------------------------------

    def _day(self, day: date) -> LocalDay:
        return local_day(self.settings.timezone, day)

    def daily_count(self, message_id: str, interaction_type: str, day: date) -> int:
        """Records of this type whose interaction_date falls on the local day."""
        draw = Draw(self.config.seed, "senderguide-volume", message_id, day.isoformat())
        jitter = self.settings.volume_jitter
        weekend = 0.6 if day.weekday() >= 5 and jitter else 1.0
        sends = round(self.settings.daily_sends * weekend * (1 + jitter * (2 * draw.unit(0) - 1)))
        if interaction_type == "sends":
            return sends
        rate = {"opens": self.settings.open_rate, "clicks": self.settings.click_rate,
                "bounces": self.settings.bounce_rate,
                "unsubscribes": self.settings.unsubscribe_rate}[interaction_type]
        return round(sends * rate)

    def _draw(self, message_id: str, interaction_type: str, day: date, index: int) -> Draw:
        return Draw(self.config.seed, "senderguide", message_id, interaction_type, day.isoformat(),
                    index)

    def _slot(self, message_id: str, interaction_type: str, day: date, index: int, count: int) -> int:
        unit = self._draw(message_id, interaction_type, day, index).unit(0)
        return spread_slot(index, count, self._day(day).length, unit)

    def _sends_before(self, message_id: str, day: date, slot: int) -> int:
        """How many of the day's sends come before `slot` (binary search, no listing)."""
        count = self.daily_count(message_id, "sends", day)
        lo, hi = 0, count
        while lo < hi:
            mid = (lo + hi) // 2
            if self._slot(message_id, "sends", day, mid, count) < slot:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def _contact(self, message_id: str, day: date, send_index: int) -> int:
        audience = max(1_000, self.settings.daily_sends * 20)
        return 1_000_000 + self._draw(message_id, "sends", day, send_index).below(1, audience)

    def _send(self, message_id: str, interaction_type: str, day: date, slot: int,
              draw: Draw) -> tuple[date, int] | None:
        """The send an interaction at (day, slot) answers: its day and index, or None."""
        lag = draw.weighted(1, _LAGS[interaction_type])
        for extra in range(8):  # look further back when a day happens to have no sends
            send_day = day - timedelta(days=lag + extra)
            if lag + extra == 0:
                available = self._sends_before(message_id, day, slot)
            else:
                available = self.daily_count(message_id, "sends", send_day)
            if available:
                if interaction_type == "bounces":  # bounces follow their send within minutes
                    return send_day, available - 1 - draw.below(2, min(available, 5))
                return send_day, draw.below(2, available)
        return None

    def record(self, message_id: str, interaction_type: str, day: date, index: int,
               page_number: int = 1) -> dict[str, Any]:
        """Record `index` (in naive-time order) of the type on the local day."""
        count = self.daily_count(message_id, interaction_type, day)
        draw = self._draw(message_id, interaction_type, day, index)
        local = self._day(day)
        slot = self._slot(message_id, interaction_type, day, index, count)
        interaction_date = local.naive(slot)
        if interaction_type == "sends":
            contact, send_date = self._contact(message_id, day, index), interaction_date
        else:
            send = self._send(message_id, interaction_type, day, slot, draw)
            if send is None:  # only with a zero send volume around this day
                contact = 1_000_000 + draw.below(2, 1_000)
                send_date = interaction_date - timedelta(minutes=1)
            else:
                send_day, send_index = send
                send_count = self.daily_count(message_id, "sends", send_day)
                contact = self._contact(message_id, send_day, send_index)
                send_slot = self._slot(message_id, "sends", send_day, send_index, send_count)
                send_date = self._day(send_day).naive(send_slot)
        return {
            "contact_id": contact,
            "contact_email": self._email(contact, draw),
            "send_date": naive_text(send_date),
            "interaction_type": interaction_type,
            "interaction_date": naive_text(interaction_date),
            "message_id": int(message_id) if message_id.isdigit() else message_id,
            "page_number": page_number,
        }

    def _email(self, contact_id: int, draw: Draw) -> str:
        person = Draw(self.config.seed, "senderguide-contact", contact_id)
        first, last = person.choice(0, _FIRST_NAMES), person.choice(1, _LAST_NAMES)
        address = f"{first}.{last}{contact_id % 1000}@{person.choice(2, _DOMAINS)}"
        style = draw.unit(3)
        if style < 0.06:  # the same contact's address comes back in different cases
            return address.title()
        if style < 0.1:
            local, _, domain = address.partition("@")
            return f"{local.capitalize()}@{domain.upper()}"
        return address

    # -- HTTP -----------------------------------------------------------------------------

    def handle(self, request: Request, match: re.Match[str]) -> Response:
        if not bearer_ok(request, self.settings.api_key):
            return _error(401, "The provided authorization credentials are incorrect")
        message_id = match["message_id"]
        if message_id not in self.settings.message_ids:
            return _error(404, f"Message {message_id} was not found")
        try:
            body = request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return _error(400, "The request body was not formatted properly: a JSON object is expected")
        for name in ("interactionType", "fromDate", "toDate", "order"):
            if body.get(name) in (None, ""):
                return _error(400, f"The request body was not formatted properly: {name} is missing")
        interaction_type = body["interactionType"]
        if interaction_type not in INTERACTION_TYPES:
            return _error(400, f"interactionType must be one of {', '.join(INTERACTION_TYPES)}")
        order = body["order"]
        if order not in ("asc", "desc"):
            return _error(400, "order must be \"asc\" or \"desc\"")
        page = body.get("pageNumber", 1)
        if isinstance(page, str) and page.strip().isdigit():
            page = int(page)
        if not isinstance(page, int) or isinstance(page, bool):
            return _error(400, "pageNumber is not numeric")
        if page < 1:
            return _error(400, "pageNumber must be 1 or greater")
        try:
            first_day = date.fromisoformat(_date_text(body["fromDate"]))
            last_day = date.fromisoformat(_date_text(body["toDate"]))
        except (TypeError, ValueError):
            return _error(400, "fromDate and toDate must be dates in the format yyyy-mm-dd")
        if last_day < first_day:
            return _error(400, "toDate must not be before fromDate")
        if self.config.documented:
            last_day -= timedelta(days=1)  # toDate exclusive: fromDate = toDate is an empty window

        days = [first_day + timedelta(days=n) for n in range(max(0, (last_day - first_day).days + 1))]
        counts = [self.daily_count(message_id, interaction_type, day) for day in days]
        ends = list(accumulate(counts))  # ends[k]: rows up to and including days[k]
        total = ends[-1] if ends else 0
        rows = []
        for position in range((page - 1) * PAGE_SIZE, min(page * PAGE_SIZE, total)):
            ascending = position if order == "asc" else total - 1 - position
            k = bisect_right(ends, ascending)
            index = ascending - (ends[k] - counts[k])
            rows.append(self.record(message_id, interaction_type, days[k], index, page))
        rows = self.state.faults.malformed(
            self.state.generation, "senderguide", rows,
            lambda r: (r["message_id"], r["contact_id"], r["interaction_type"], r["interaction_date"]),
            "interaction_date", "contact_email")
        if page > 1:  # documented: later pages carry only result and data
            return json_response(200, {"result": "success", "data": rows})
        return json_response(200, {"result": "success", "page_size": PAGE_SIZE,
                                   "total_pages": -(-total // PAGE_SIZE), "total_rows": total,
                                   "data": rows})

    # -- for tests ------------------------------------------------------------------------

    def expected_rows(self, message_id: str, interaction_type: str, local_day: date) -> int:
        """How many records of the type the sandbox holds for the account-local day."""
        return self.daily_count(message_id, interaction_type, local_day)

    def rows(self, message_id: str, interaction_type: str, local_day: date) -> Iterator[dict[str, Any]]:
        """The day's records in ascending order, as page 1 would show them."""
        for index in range(self.daily_count(message_id, interaction_type, local_day)):
            yield self.record(message_id, interaction_type, local_day, index)

    def interaction_instant(self, message_id: str, interaction_type: str, local_day: date,
                            index: int) -> datetime:
        """The true UTC instant of a record (the naive text alone is ambiguous in a repeated hour)."""
        count = self.daily_count(message_id, interaction_type, local_day)
        slot = self._slot(message_id, interaction_type, local_day, index, count)
        return self._day(local_day).instant(slot)


def _date_text(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError(value)
    return value


def _error(status: int, text: str) -> Response:
    return json_response(status, {"result": "error", "status": text, "code": status})


def pipeline_environment(url: str, config: SandboxConfig) -> dict[str, str]:
    """What points the pipeline's SenderGuide source at this sandbox (and its account's zone)."""
    return {"SENDERGUIDE_BASE_URL": url, "SENDERGUIDE_API_KEY": config.senderguide.api_key,
            "SENDERGUIDE_MESSAGE_IDS": ",".join(config.senderguide.message_ids),
            "SENDERGUIDE_TIMEZONE": config.senderguide.timezone}
