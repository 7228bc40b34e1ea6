"""mGage SMS export: GET /api/messages/program/{programId}, HTTP Basic, paged by nextPageUrl.

Quirks reproduced: no message id; `date` in GMT without offset and with odd fractions;
`number` national or with country code, string or JSON number; nextPageUrl absolute for some
programs and relative for others; errors in meta.generalErrors even under HTTP 200 (dates
over a year back); endDate inclusive, so the first message of the next day comes back with a
window ending at midnight; statuses that move forward (Sent, later Delivered) as the sandbox
generation advances.

Documented mode (`SandboxConfig.documented`, the default) serves the document's own example:
`nextPageUrl` carries only `page` (`…/program/121811?page=2`), none of the request's filters,
and a request without them gets the document's defaults: no messageType is both MO and MT,
no startDate is the first message up to a year ago, no endDate the last message (now), no
pageSize is 50. A client that follows such a URL as given walks a year of both types, 50 a
page, instead of its day. With `documented=False` the next URL repeats every filter of the
request, and no dates at all means "today only" (as the vendor overview has it)."""

import re
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlencode

from pipelines.model import clock
from sandbox.config import SandboxConfig
from sandbox.data import Draw, us_number
from sandbox.server import Request, Response, Router, SandboxState, json_response
from sandbox.vendors.auth import basic_auth_ok

PATH = r"/api/messages/program/(?P<program_id>[^/]+)"
MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 50
_CENTISECONDS_PER_DAY = 8_640_000

# Each MT message follows one chain; the sandbox generation says how far along it is.
_MT_STATUS_CHAINS: list[tuple[tuple[str, ...], float]] = [
    (("Delivered",), 0.55),
    (("Sent", "Delivered"), 0.25),
    (("Processing", "Sent", "Delivered"), 0.05),
    (("Sent", "Undelivered"), 0.05),
    (("Error",), 0.04),
    (("Sent",), 0.06),
]
_MT_BODIES = (
    "Your verification code is {n}. It expires in 10 minutes.",
    "Flash sale: {n}% off everything today only. Reply STOP to opt out.",
    "Your order #{n} has shipped. Track it in the app.",
    "Reminder: appointment #{n} is tomorrow. Reply C to confirm.",
    "Thanks for joining! Msg&data rates may apply. Reply HELP for help, STOP to cancel.",
)
_MO_BODIES = ("STOP", "YES", "HELP", "C", "JOIN", "Info please", "stop", "Y")
_NETWORKS = ("T-Mobile", "AT&T", "Verizon", "US Cellular", None)
_PROGRAM_TYPES = ("Text to Join", "Alerts", "Two-Way")


def _parse_filter_date(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)


def _format_date(moment: datetime, draw: Draw) -> str:
    text = moment.strftime("%Y-%m-%dT%H:%M:%S.%f")
    # Two decimals as in the vendor's example, sometimes three: the same instant either way.
    return text[:-4] if draw.unit(3) < 0.85 else text[:-3]


class MgageApi:
    def __init__(self, config: SandboxConfig, state: SandboxState) -> None:
        self.config = config
        self.settings = config.mgage
        self.state = state

    def register(self, router: Router) -> None:
        router.add("GET", PATH, self.handle)

    # -- data -----------------------------------------------------------------------------

    def daily_count(self, program_id: str, message_type: str, day: date) -> int:
        draw = Draw(self.config.seed, "mgage-volume", program_id, day.isoformat())
        jitter = self.settings.volume_jitter
        weekend = 0.6 if day.weekday() >= 5 and jitter else 1.0
        mt = round(self.settings.daily_messages * weekend * (1 + jitter * (2 * draw.unit(0) - 1)))
        return mt if message_type == "MT" else round(mt * self.settings.mo_ratio)

    def _spacing(self, count: int) -> int:
        return max(1, _CENTISECONDS_PER_DAY // max(count, 1))

    def _timestamp(self, program_id: str, message_type: str, day: date, index: int, count: int) -> datetime:
        spacing = self._spacing(count)
        draw = Draw(self.config.seed, "mgage-t", program_id, message_type, day, index)
        offset = 0 if index == 0 else draw.below(0, spacing)
        centiseconds = index * spacing + offset
        return datetime.combine(day, time(), UTC) + timedelta(milliseconds=10 * centiseconds)

    def message(self, program_id: str, message_type: str, day: date, index: int, count: int) -> dict:
        draw = Draw(self.config.seed, "mgage", program_id, message_type, day.isoformat(), index)
        moment = self._timestamp(program_id, message_type, day, index, count)
        subscriber = draw.below(0, max(50, self.settings.daily_messages * 5))
        national = us_number(Draw(self.config.seed, "mgage-subscriber", program_id, subscriber), 0)
        number: str | int = national if draw.unit(1) < 0.6 else f"1{national}"
        if draw.unit(2) < 0.1:
            number = int(number)  # documented as Numeric; usually sent as a string
        if message_type == "MO":
            status = "Received"
            body = draw.choice(2, _MO_BODIES)
        else:
            chain = draw.weighted(1, _MT_STATUS_CHAINS)
            status = chain[min(self.state.generation, len(chain) - 1)]
            body = draw.choice(2, _MT_BODIES).format(n=10 + draw.below(3, 89))
        return {
            "type": message_type,
            "deliveryStatus": status,
            "number": number,
            "body": body,
            "date": _format_date(moment, draw),
            "network": draw.choice(3, _NETWORKS),
        }

    def _index_range(self, program_id: str, message_type: str, day: date, start: datetime,
                     end: datetime) -> tuple[int, int, int]:
        """[lo, hi) of the day's messages whose time lies in [start, end], and the day's count."""
        count = self.daily_count(program_id, message_type, day)

        def first_at_or_after(moment: datetime, inclusive: bool) -> int:
            lo, hi = 0, count
            while lo < hi:
                mid = (lo + hi) // 2
                stamp = self._timestamp(program_id, message_type, day, mid, count)
                if stamp < moment or (not inclusive and stamp == moment):
                    lo = mid + 1
                else:
                    hi = mid
            return lo

        return first_at_or_after(start, True), first_at_or_after(end, False), count

    # -- HTTP -----------------------------------------------------------------------------

    def handle(self, request: Request, match: re.Match[str]) -> Response:
        if not basic_auth_ok(request, self.settings.username, self.settings.password):
            return _error(401, "Unauthorized: invalid username or password")
        program_id = match["program_id"]
        if program_id not in self.settings.program_ids:
            return _error(404, f"Program {program_id} not found")
        query = request.query
        message_type = query.get("messageType") or None
        if message_type not in (None, "MO", "MT"):
            return _error(400, "messageType must be MO or MT")
        try:
            page_size = int(query.get("pageSize") or DEFAULT_PAGE_SIZE)
            page = int(query.get("page") or 1)
            now = clock.now()
            if "startDate" not in query and "endDate" not in query and not self.config.documented:
                start = datetime.combine(now.date(), time(), UTC)  # "today" only
                end = now
            else:
                start = _parse_filter_date(query["startDate"]) if query.get("startDate") else now - timedelta(days=365)
                end = _parse_filter_date(query["endDate"]) if query.get("endDate") else now
        except ValueError:
            return _error(400, "Invalid request: dates are YYYY-MM-DDTHH:MM:SS, pageSize and page are numbers")
        if not 1 <= page_size <= MAX_PAGE_SIZE or page < 1:
            return _error(400, f"pageSize must be between 1 and {MAX_PAGE_SIZE}")
        if start < now - timedelta(days=366):
            # The vendor reports this under HTTP 200.
            return json_response(200, {"meta": {"generalErrors": ["startDate cannot be more than one year ago"],
                                                 "nextPageUrl": None}, "data": None})

        segments = []
        day = start.date()
        while day <= end.date() and start <= end:
            for kind in ([message_type] if message_type else ["MT", "MO"]):
                lo, hi, count = self._index_range(program_id, kind, day, start, end)
                if hi > lo:
                    segments.append((kind, day, lo, hi, count))
            day += timedelta(days=1)
        total = sum(hi - lo for _, _, lo, hi, _ in segments)

        offset = (page - 1) * page_size
        messages = []
        for kind, seg_day, lo, hi, count in segments:
            if offset >= hi - lo:
                offset -= hi - lo
                continue
            for index in range(lo + offset, hi):
                messages.append(self.message(program_id, kind, seg_day, index, count))
                if len(messages) == page_size:
                    break
            offset = 0
            if len(messages) == page_size:
                break

        faults = self.state.faults
        window = (program_id, query.get("startDate"), query.get("endDate"), message_type, page_size)
        if page > 1 and faults.record_fault("duplicate", *window, page):
            # The previous page's last message, served again at the top of this one.
            previous = self._message_at(program_id, segments, (page - 1) * page_size - 1)
            if previous is not None:
                messages.insert(0, previous)
        messages = faults.malformed(self.state.generation, "mgage", messages,
                                    lambda m: (program_id, m["date"], m["number"]), "date", "number")

        next_url = None
        if page * page_size < total:
            if self.config.documented:
                params = {"page": str(page + 1)}  # as the document's example: no filters
            else:
                params = {key: value for key, value in query.items() if key != "page"}
                params["page"] = str(page + 1)
            next_url = f"{request.path}?{urlencode(params)}"
            if self._absolute_next_urls(program_id):
                next_url = request.origin + next_url
            # Paging glitches strike a walk once, on its first page that can show them.
            if faults.record_fault("foreign_next", *window, once=True):
                next_url = f"http://foreign.invalid{request.path}?{urlencode(params)}"
            elif page > 1 and faults.record_fault("loop_next", *window, once=True):
                next_url = f"{request.path}?{urlencode(params | {'page': str(page - 1)})}"
        draw = Draw(self.config.seed, "mgage-program", program_id)
        return json_response(200, {
            "meta": {"generalErrors": [], "nextPageUrl": next_url},
            "data": {
                "campaignName": "Default Campaign" if draw.unit(0) < 0.5 else f"Campaign {program_id[-3:]}",
                "programName": f"Program {program_id}",
                "programType": draw.choice(1, _PROGRAM_TYPES),
                "messages": messages,
            },
        })

    def _message_at(self, program_id: str, segments: list, offset: int) -> dict | None:
        """The message at `offset` of the window's virtual list, if there is one."""
        for kind, day, lo, hi, count in segments:
            if offset < hi - lo:
                return self.message(program_id, kind, day, lo + offset, count)
            offset -= hi - lo
        return None

    def _absolute_next_urls(self, program_id: str) -> bool:
        return Draw(self.config.seed, "mgage-program", program_id).unit(2) < 0.5

    def expected_messages(self, program_id: str, message_type: str, day: date) -> int:
        """How many messages of this kind the sandbox holds for the UTC day (for tests)."""
        return self.daily_count(program_id, message_type, day)


def _error(status: int, message: str) -> Response:
    return json_response(status, {"meta": {"generalErrors": [message], "nextPageUrl": None}, "data": None})


def pipeline_environment(url: str, config: SandboxConfig) -> dict[str, str]:
    """What points the pipeline's mGage source at this sandbox."""
    return {"MGAGE_BASE_URL": url, "MGAGE_USERNAME": config.mgage.username,
            "MGAGE_PASSWORD": config.mgage.password,
            "MGAGE_PROGRAM_IDS": ",".join(config.mgage.program_ids)}
