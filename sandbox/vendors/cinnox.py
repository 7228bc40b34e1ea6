"""CINNOX sent campaigns: `GET /v1/api/apps/{appID}/data/sent-campaigns-summary?startAt=&endAt=
&offset=&limit=` lists sent campaigns (`id` is the historyID), `GET …/sent-campaigns-detail?
historyID=&offset=&limit=` lists a campaign's recipients; `Authorization: Bearer <AppToken>`.

Quirks reproduced: envelope {"code": 0, "result": [...], "cid": <request id>}, paged by
offset/limit until a short page; errors {"code": <int>, "message": ...} with HTTP 400 and code
6451000 for a bad range, a range over `max_range_days`, a bad offset or a limit over the
maximum, 401 for a bad token, 404 for another appID; startAt and endAt (RFC3339) both
inclusive, and campaigns often start on the quarter hour, so adjacent windows can both return
one; the detail's `id` is the campaign's id, not the historyID and not per recipient (the
natural key is historyID + recipient); `recipient` as digits, with '+' or as a JSON number,
always with its country code (numbers of HK, SG, US and GB; Singapore's ten digits, e.g.
6591234567, would also pass for a North-American number read nationally);
SMS rows carry sender{phone, senderEID}, content, numSMS (UCS-2 text splits sooner),
carrierNetworkStatus ("" when the carrier never got it); WhatsApp rows carry
sender{phone, channelName, sourceName}, subject (template name) and failedReason (the doc's
360dialog texts, verbatim); the last-updated time comes as `LastUpdatedDateTime` for some rows
and `lastUpdatedDateTime` for others; statuses move forward as the sandbox generation advances
(SMS Pending → Submitted → Delivered, WhatsApp Pending → Delivered → Read), and the
last-updated time with them. Detail rows carry only the fields their channel has in the doc.
The undocumented summary parameters follow CINNOX's other report endpoints.

Documented mode (`SandboxConfig.documented`, the default): a WhatsApp recipient is an
international number written without '+' (digits, or a JSON number), and WhatsApp rows carry no
`recipientCountry` (the document has it "In the SMS Campaign" only). With `documented=False`,
WhatsApp recipients come with '+' too and every row carries recipientCountry."""

import math
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sandbox.config import SandboxConfig
from sandbox.data import US_AREA_CODES, Draw, spread_slot
from sandbox.server import Request, Response, Router, SandboxState, json_response
from sandbox.vendors.auth import bearer_ok

APP_PATH = r"/v1/api/apps/(?P<app_id>[^/]+)/data"
DEFAULT_LIMIT = 20
BAD_PARAMETER = 6451000
_QUARTER_HOURS = 96

# Each recipient's status follows one chain; the sandbox generation says how far along it is.
_SMS_CHAINS: list[tuple[tuple[str, ...], float]] = [
    (("Pending", "Submitted", "Delivered"), 0.3),
    (("Submitted", "Delivered"), 0.35),
    (("Delivered",), 0.18),
    (("Pending", "Submitted"), 0.04),
    (("Submitted", "Undelivered"), 0.06),
    (("Pending", "Failed"), 0.03),
    (("Failed",), 0.04),
]
_WHATSAPP_CHAINS: list[tuple[tuple[str, ...], float]] = [
    (("Pending", "Delivered", "Read"), 0.3),
    (("Delivered", "Read"), 0.25),
    (("Pending", "Delivered"), 0.15),
    (("Delivered",), 0.1),
    (("Read",), 0.08),
    (("Pending",), 0.03),
    (("Pending", "Failed"), 0.04),
    (("Failed",), 0.05),
]
# Seconds a status change takes after the previous one (or after dispatch), as (min, max).
_STEP_DELAYS = {"Pending": (0, 2), "Submitted": (1, 20), "Delivered": (3, 600),
                "Undelivered": (60, 7200), "Failed": (1, 120), "Read": (60, 6 * 3600)}
_CARRIER_STATUS = {"Pending": "", "Failed": "", "Submitted": "Queued", "Delivered": "Delivered",
                   "Undelivered": "Undelivered"}
# Verbatim from the vendor's documentation (including its uneven dashes and casing).
FAILED_REASONS = (
    "Error Code: 7061120 - 360Dialog bad request",
    "Error Code: 7061123 360dialog unauthorized",
    "Error Code: 7061124 - 360dialog forbidden",
    "Error Code: 7061125 - 360dialog not found",
    "Error Code: 3120410 - 360dialog whatsapp 24hr window error",
    "Error Code: 7061121 - 360dialog internal server error",
    "Error Code: 7061122 - 360dialog server timeout",
    "Error Code: 7061126 - 360dialog unknown error",
)
_COUNTRIES: list[tuple[str, float]] = [("HK", 0.4), ("SG", 0.25), ("US", 0.2), ("GB", 0.15)]
# (campaign name, SMS text): one over 160 characters, one in Chinese (UCS-2, 70 a part).
_SMS_CAMPAIGNS = (
    ("Flash Sale", "{brand}: Flash sale today only, {n}% off everything in store and online. "
                   "Reply STOP to opt out."),
    ("Payment Reminder", "{brand}: your bill of ${n}.00 is due in 3 days. "
                         "Pay in the app to avoid a late fee."),
    ("Appointment Reminder", "{brand}: reminder of your appointment tomorrow at {n}:00. Reply C to "
                             "confirm or R to reschedule. Questions? Call us any time, we are happy "
                             "to help you with anything you need."),
    ("Service Notice", "{brand}：系統將於今晚{n}時進行維護，期間服務可能暫停。"),  # noqa: RUF001 - the vendor's own punctuation
    ("Loyalty Points", "{brand}: you have {n}00 points waiting. "
                       "Redeem them before the end of the month!"),
)
_WHATSAPP_TEMPLATES = (
    ("Order Updates", "order_update_v2"),
    ("11.11 Promotion", "promo_1111_hk"),
    ("Delivery Notice", "delivery_notice"),
    ("Feedback Survey", "feedback_survey_v3"),
    ("Welcome Series", "welcome_onboarding"),
)
_BRANDS = ("ACME", "Lumen", "Kowloon Mart", "Harbour Bank")
_GSM_BASIC = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
                 "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def rfc3339(moment: datetime) -> str:
    """`2026-11-20T08:00:00.000Z`: UTC with milliseconds, as the vendor writes it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_rfc3339(value: str) -> datetime:
    """An RFC3339 date-time with an offset or Z; naive or date-only values are refused."""
    if not _RFC3339.fullmatch(value):
        raise ValueError(value)
    return datetime.fromisoformat(value.upper().replace("Z", "+00:00")).astimezone(UTC)


def sms_parts(text: str) -> int:
    """Messages a text takes: 160/153 GSM-7 characters, 70/67 when it needs UCS-2."""
    single, multi = (160, 153) if set(text) <= _GSM_BASIC else (70, 67)
    return 1 if len(text) <= single else math.ceil(len(text) / multi)


@dataclass(frozen=True)
class _Campaign:
    """What one sent campaign is, drawn once from its coordinates."""

    day: date
    number: int
    history_id: str
    sent_at: datetime
    channel: str
    name: str
    template: str  # SMS text with {brand}/{n} fields, or the WhatsApp template name
    brand: str
    recipients: int
    staff: str
    sender_phone: str


class CinnoxApi:
    def __init__(self, config: SandboxConfig, state: SandboxState) -> None:
        self.config = config
        self.settings = config.cinnox
        self.state = state

    def register(self, router: Router) -> None:
        router.add("GET", APP_PATH + "/sent-campaigns-summary", self.handle_summary)
        router.add("GET", APP_PATH + "/sent-campaigns-detail", self.handle_detail)

    # -- campaigns ------------------------------------------------------------------------

    def daily_campaigns(self, day: date) -> int:
        """Campaigns sent on the UTC day: 0.5x to 1.5x of campaigns_per_day."""
        draw = Draw(self.config.seed, "cinnox-volume", self.settings.app_id, day.isoformat())
        return round(self.settings.campaigns_per_day * (0.5 + draw.unit(0)))

    def _draw(self, purpose: str, day: date, number: int) -> Draw:
        return Draw(self.config.seed, f"cinnox-{purpose}", self.settings.app_id, day.isoformat(),
                    number)

    def _sent_at(self, day: date, number: int) -> datetime:
        """Campaigns spread over the UTC day by quarter hour; scheduled ones start exactly on
        it, immediate ones at any millisecond within it."""
        draw = self._draw("time", day, number)
        quarter = spread_slot(number, self.daily_campaigns(day), _QUARTER_HOURS, draw.unit(0))
        moment = datetime.combine(day, time(), UTC) + timedelta(minutes=15 * quarter)
        if self._immediate(day, number):
            moment += timedelta(milliseconds=1 + draw.below(2, 15 * 60 * 1000 - 1))
        return moment

    def _immediate(self, day: date, number: int) -> bool:
        return self._draw("time", day, number).unit(1) < 0.5

    def _history_id(self, day: date, number: int) -> str:
        """24 hex digits like a Mongo ObjectId: the send time's epoch seconds, the campaign's
        number in its day, then a hash; it decodes back to (day, number) without storage."""
        check = self._draw("time", day, number).below(3, 16**12)
        return f"{int(self._sent_at(day, number).timestamp()):08x}{number:04x}{check:012x}"

    def _locate(self, history_id: str) -> tuple[date, int] | None:
        if not re.fullmatch(r"[0-9a-f]{24}", history_id):
            return None
        day = datetime.fromtimestamp(int(history_id[:8], 16), UTC).date()
        number = int(history_id[8:12], 16)
        if number >= self.daily_campaigns(day) or self._history_id(day, number) != history_id:
            return None
        return day, number

    def _campaign(self, day: date, number: int) -> _Campaign:
        draw, sender = self._draw("campaign", day, number), self._draw("sender", day, number)
        channel = "WhatsApp" if draw.unit(0) < self.settings.whatsapp_share else "SMS"
        templates = _WHATSAPP_TEMPLATES if channel == "WhatsApp" else _SMS_CAMPAIGNS
        name, template = draw.choice(1, templates)
        low = max(1, self.settings.min_recipients)
        high = max(low, self.settings.max_recipients)
        recipients = min(high, round(low * (high / low) ** draw.unit(3)))  # log-uniform
        brand = draw.choice(2, _BRANDS)
        staff = f"eid-{Draw(self.config.seed, 'cinnox-staff', sender.below(0, 4)).below(0, 16**8):08x}"
        if channel == "WhatsApp":
            phone = f"+852{51_000_000 + sender.below(2, 100_000)}"
        elif sender.unit(1) < 0.5:
            phone = brand.upper().replace(" ", "")[:11]  # alphanumeric sender ID
        else:
            phone = f"+852{30_000_000 + sender.below(2, 1_000_000)}"
        return _Campaign(day, number, self._history_id(day, number), self._sent_at(day, number),
                         channel, name, template, brand, recipients, staff, phone)

    def _summary(self, campaign: _Campaign) -> dict[str, Any]:
        return {
            "id": campaign.history_id,
            "date": rfc3339(campaign.sent_at),
            "campaignName": f"{campaign.name} {campaign.sent_at:%d %b}",
            "channel": campaign.channel,
            "totalRecipients": campaign.recipients,
            "sendType": "Immediate" if self._immediate(campaign.day, campaign.number) else "Scheduled",
            "createdBy": campaign.staff,
        }

    def campaigns_between(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Summary rows with start <= date <= end, ascending by date (both ends inclusive)."""
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        found = []
        day = start.date()
        while day <= end.date():
            for number in range(self.daily_campaigns(day)):
                moment = self._sent_at(day, number)
                if start <= moment <= end:
                    found.append((moment, number, day))
            day += timedelta(days=1)
        found.sort()
        return [self._summary(self._campaign(day, number)) for _, number, day in found]

    # -- recipients -----------------------------------------------------------------------

    def recipients(self, history_id: str) -> int:
        """How many detail rows the campaign has (0 for an unknown historyID)."""
        located = self._locate(history_id)
        return self._campaign(*located).recipients if located else 0

    def detail_row(self, history_id: str, index: int) -> dict[str, Any]:
        """Recipient `index` of the campaign, as the detail endpoint shows it now."""
        located = self._locate(history_id)
        if located is None:
            raise KeyError(history_id)
        return self._detail_row(self._campaign(*located), index)

    def _detail_row(self, campaign: _Campaign, index: int) -> dict[str, Any]:
        draw = Draw(self.config.seed, "cinnox-recipient", campaign.history_id, index)
        more = Draw(self.config.seed, "cinnox-recipient-more", campaign.history_id, index)
        whatsapp = campaign.channel == "WhatsApp"
        country = draw.weighted(0, _COUNTRIES)
        chain = draw.weighted(1, _WHATSAPP_CHAINS if whatsapp else _SMS_CHAINS)
        step = min(self.state.generation, len(chain) - 1)
        status = chain[step]
        # Dispatch runs at about 50 messages a second; each status change follows the last.
        updated = campaign.sent_at + timedelta(milliseconds=index * 20 + draw.below(2, 1000))
        for position, name in enumerate(chain[:step + 1]):
            low, high = _STEP_DELAYS[name]
            delay = Draw(self.config.seed, "cinnox-step", campaign.history_id, index, position).unit(0)
            updated += timedelta(seconds=low + delay * (high - low))

        row: dict[str, Any] = {"id": self._campaign_id(campaign), "date": rfc3339(campaign.sent_at)}
        if whatsapp:
            row["sender"] = {"phone": campaign.sender_phone,
                             "channelName": f"{campaign.brand} WhatsApp", "sourceName": "360dialog"}
        else:
            row["sender"] = {"phone": campaign.sender_phone, "senderEID": campaign.staff}
        documented_whatsapp = whatsapp and self.config.documented
        row["recipient"] = self._recipient(campaign, index, country, more,
                                           plus=not documented_whatsapp)
        if not documented_whatsapp:  # documented: "In the SMS Campaign" only
            row["recipientCountry"] = country
        if whatsapp:
            row["subject"] = campaign.template
        else:
            row["content"] = campaign.template.format(brand=campaign.brand, n=10 + draw.below(3, 80))
            row["numSMS"] = sms_parts(row["content"])
        row["status"] = status
        if whatsapp:
            row["failedReason"] = more.choice(1, FAILED_REASONS) if status == "Failed" else ""
        else:
            carrier = _CARRIER_STATUS[status]
            if carrier == "Delivered" and more.unit(1) < 0.03:
                carrier = ""  # documented: empty when the carrier never reported
            row["carrierNetworkStatus"] = carrier
        casing = "LastUpdatedDateTime" if more.unit(3) < 0.5 else "lastUpdatedDateTime"
        row[casing] = rfc3339(updated)
        return row

    def _campaign_id(self, campaign: _Campaign) -> str:
        """The id of the campaign (as created), which differs from the id of this sending."""
        draw = Draw(self.config.seed, "cinnox-campaign-id", campaign.history_id)
        return f"{draw.below(0, 16**12):012x}{draw.below(1, 16**12):012x}"

    def _recipient(self, campaign: _Campaign, index: int, country: str, draw: Draw,
                   plus: bool = True) -> str | int:
        """A mobile number of the country with its country code, distinct for each index within
        the campaign; written with '+' sometimes when `plus`, never otherwise."""
        base = Draw(self.config.seed, "cinnox-numbers", campaign.history_id).below(0, 10**7)
        serial = (index * 7_919 + base) % 10**7  # a bijection on 0..10^7-1
        if country == "HK":
            digits = f"852{draw.choice(0, '569')}{serial:07d}"
        elif country == "SG":
            digits = f"65{draw.choice(0, '89')}{serial:07d}"
        elif country == "GB":
            digits = f"447{draw.choice(0, '4579')}{serial:08d}"
        else:
            area = draw.choice(0, US_AREA_CODES)
            digits = f"1{area}{200 + serial // 10_000 % 800:03d}{serial % 10_000:04d}"
        style = draw.unit(2)
        if style < 0.2:
            return int(digits)  # the doc's example types it as a number
        return "+" + digits if plus and style < 0.45 else digits

    # -- HTTP -----------------------------------------------------------------------------

    def _check(self, request: Request, match: re.Match[str]) -> Response | None:
        if not bearer_ok(request, self.settings.app_token):
            return _error(401, 401, "Unauthorized: the app token is invalid")
        if match["app_id"] != self.settings.app_id:
            return _error(404, 404, f"App {match['app_id']} not found")
        return None

    def _paging(self, query: dict[str, str]) -> tuple[int, int]:
        offset = int(query.get("offset") or 0)
        limit = int(query.get("limit") or DEFAULT_LIMIT)
        if offset < 0 or not 1 <= limit <= self.settings.max_limit:
            raise ValueError(f"limit must be between 1 and {self.settings.max_limit}, offset 0 or more")
        return offset, limit

    def _bad_paging(self) -> Response:
        return _error(400, BAD_PARAMETER,
                      f"Invalid offset or limit (the maximum limit is {self.settings.max_limit})")

    def handle_summary(self, request: Request, match: re.Match[str]) -> Response:
        if failure := self._check(request, match):
            return failure
        query = request.query
        try:
            offset, limit = self._paging(query)
        except ValueError:
            return self._bad_paging()
        try:
            start = parse_rfc3339(query.get("startAt", ""))
            end = parse_rfc3339(query.get("endAt", ""))
        except ValueError:
            return _error(400, BAD_PARAMETER,
                          "Invalid time range: startAt and endAt are RFC3339 date-times")
        days = self.settings.max_range_days
        if end < start or end - start > timedelta(days=days):
            return _error(400, BAD_PARAMETER,
                          f"Invalid time range: endAt must follow startAt by at most {days} days")
        rows = self.campaigns_between(start, end)[offset:offset + limit]
        return _result(rows)

    def handle_detail(self, request: Request, match: re.Match[str]) -> Response:
        if failure := self._check(request, match):
            return failure
        try:
            offset, limit = self._paging(request.query)
        except ValueError:
            return self._bad_paging()
        history_id = request.query.get("historyID", "")
        if not history_id or self._locate(history_id) is None:
            return _error(400, BAD_PARAMETER, f"Invalid historyID: {history_id!r}")
        campaign = self._campaign(*self._locate(history_id))
        stop = min(offset + limit, campaign.recipients)
        rows = [self._detail_row(campaign, index) for index in range(offset, stop)]
        return _result(self.state.faults.malformed(
            self.state.generation, "cinnox", rows, lambda r: (history_id, str(r.get("recipient"))),
            "date", "recipient"))


def _result(rows: list[dict[str, Any]]) -> Response:
    return json_response(200, {"code": 0, "result": rows, "cid": uuid.uuid4().hex})


def _error(status: int, code: int, message: str) -> Response:
    return json_response(status, {"code": code, "message": message})


def pipeline_environment(url: str, config: SandboxConfig) -> dict[str, str]:
    """What points the pipeline's CINNOX source at this sandbox."""
    return {"CINNOX_BASE_URL": url, "CINNOX_APP_ID": config.cinnox.app_id,
            "CINNOX_APP_TOKEN": config.cinnox.app_token}
