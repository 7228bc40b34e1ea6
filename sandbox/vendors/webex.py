"""Webex Campaign: last-N customer transactions, `GET {path}?key=&count=&from-date=&to-date=
&message_preview=true` on `/campaignapi/resources/v3/customertransactions` and the legacy
`/imicampaignapi/…` prefix, and the event API, `POST …/v3/events`; `Authorization: Bearer <key>`.

Quirks reproduced: only the LAST `count` (at most 50) transactions of the key in the
local-date window come back, sorted ascending, so a window holding more is cut without notice
(busy keys hold more than 50 in a single day, which no window split can fix); a bare JSON array
for most keys, an object {"transactions": [...]} for some (chosen by hash); `deployment-date`
`yyyy-MM-dd HH:mm:ss` in the tenant's zone (config), across whole local days including DST
changes; an email key finds only EMAIL transactions, an MSISDN only SMS/MMS/USSD/OBD ones, an
app device id only APP ones; `msg_preview_url` only for SMS, EMAIL and APP, only with
message_preview=true; engagement transactions (opens, clicks, DTMF...) point at the pushed
transaction they answer in `link-transaction-id`; every documented `transaction-status`
string, verbatim; statuses of pushed transactions move forward as the sandbox generation
advances ("Attempted Send successfully Pushed to Gateways" → "Successfully delivered to the
Customer"); errors {"code": <int>, "description": ...}, under HTTP 200 for a missing key (1002)
or bad input (1001), 401 with 430 for a bad token. The event API answers 1002 for a missing
event-id/event-key, 1001 for bad JSON or a "NULL"/"null" parameter, 499 for more than 400
parameters or a body over 24 KB, under the HTTP status the tenant is configured for (200/500).

Accepted events are recorded (`SandboxApp.webex_events()`), with transaction-ids drawn from the
seed and the number of events accepted before. The vendor processes them at once: the key's
transactions gain an "EventProcessedSuccess" carrying that transaction-id ("EventProcessedFailed"
when the test seam param `sandbox_fail` is "true"), then a minute later the delivered message
it pushed, and for about half the events a click on it a minute after that (SMS/EMAIL/APP by
the kind of key, under the deployment `event_deployments` maps the event id to); each shows
once its deployment-date has passed. `event_script` gives a key's successive valid events
scripted answers for tests of a client's error handling: errors (not recorded), or "lost": the
event is recorded and the connection closes without an answer.

The window is from-date..to-date in tenant-local dates. In documented mode
(`SandboxConfig.documented`, the default) `to-date` is an exclusive upper bound (the document
does not say; the harsher reading gives from-date = to-date an empty answer); with
`documented=False` both bounds are inclusive. Without to-date the window ends today,
inclusive, either way; a to-date before from-date is error 1001. MSISDN keys are international
numbers without '+', whatever the country (the default keys include Singapore's 6591234567,
ten digits that would pass for a North-American number read nationally)."""

import functools
import itertools
import re
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pipelines.model import clock
from sandbox.config import SandboxConfig
from sandbox.data import Draw, LocalDay, local_day, naive_text, spread_slot
from sandbox.server import Request, Response, Router, SandboxState, json_response
from sandbox.vendors.auth import bearer_ok

TRANSACTIONS_PATHS = (r"/campaignapi/resources/v3/customertransactions",
                      r"/imicampaignapi/resources/v3/customertransactions")
EVENTS_PATHS = (r"/campaignapi/resources/v3/events", r"/imicampaignapi/resources/v3/events")
MAX_COUNT = 50
DEFAULT_COUNT = 10  # the doc makes count optional without saying its default
DEFAULT_WINDOW_DAYS = 30  # used when from-date is absent (not documented either)
MAX_EVENT_PARAMS = 400
MAX_EVENT_BYTES = 24 * 1024

# The `transaction-status` list of the vendor's doc, split into its strings. The doc runs them
# together with single spaces; each status begins with a capital letter that starts a new
# phrase, and the comma forms ("Notpushed, GlobalDND", "Email, hardbounced", "SMS, LinkClicked")
# keep what follows the comma. Kept verbatim, inconsistencies included: "EmailSoftbounced" (no
# comma) and "Email,Opened" (no space), "OBD Failed -NotAnswered" next to "OBD Failed - Others"
# and "OBD Failed-Number not in service". "Attempted Send" stands alone before "Expired", and
# again at the head of "Attempted Send successfully Pushed to Gateways" (lower-case words
# continue a status). The stray "*" before "Landing Page Submit" is a list marker, dropped.
TRANSACTION_STATUSES: tuple[str, ...] = (
    "Successfully delivered to the Customer",
    "Failed to deliver to the Customer",
    "Attempted Send",
    "Expired",
    "Duplicate",
    "Invalid",
    "Partial Delivery",
    "Notpushed, InternalException",
    "Attempted Send successfully Pushed to Gateways",
    "Notpushed, GlobalDND",
    "Notpushed, ChannelDND",
    "Notpushed, CategoryDND",
    "Notpushed, CampaignDND",
    "Notpushed, DeploymentBlackListDND",
    "Notpushed, Controlgroup",
    "Notpushed, PolicyBreached",
    "Notpushed, Filtersapplied",
    "Notpushed, Abandoned",
    "Notpushed, DeploymentStopped",
    "Notpushed, Calendartimedout",
    "Notpushed, Others",
    "Notpushed, Limit reached",
    "Notpushed, Runtimefilter",
    "Email, hardbounced",
    "EmailSoftbounced",
    "Email, Mailblocks",
    "Email, ISPcomplaints",
    "DNDAddition",
    "DNDRemoval",
    "Email Unsubscribe",
    "MSISDN Unsubscribe",
    "EventProcessedSuccess",
    "EventProcessedFailed",
    "MOProcessedSuccess",
    "MOProcessedFailed",
    "Email,Opened",
    "Email, LinkClicked",
    "ActionProcessedSuccess",
    "ActionProcessedFailed",
    "SMS, LinkClicked",
    "USSD, DTMF",
    "Click Transaction",
    "MMS, LinkClicked",
    "OBD Success-Completed",
    "OBD Success-In Complete",
    "OBD Failed -NotAnswered",
    "OBD Failed -Rejected",
    "OBD Failed -Dropped",
    "OBD Failed -Busy",
    "OBD Failed - Out of Reach",
    "OBD Failed - Switched Off",
    "OBD Failed - Others",
    "OBD Failed-Number not obtainable",
    "OBD Failed-Number not in service",
    "App notification, Opened",
    "Landing Page Open",
    "Landing Page Submit",
)

SMS, MMS, USSD, OBD, EMAIL, APP = 0, 1, 3, 6, 7, 8
CHANNEL_NAMES = {SMS: "SMS", MMS: "MMS", USSD: "USSD", OBD: "OBD", EMAIL: "EMAIL", APP: "APP"}
_PREVIEW_CHANNELS = {SMS, EMAIL, APP}

_SENT = "Attempted Send successfully Pushed to Gateways"
_DELIVERED = "Successfully delivered to the Customer"
_NOT_PUSHED = tuple(status for status in TRANSACTION_STATUSES if status.startswith("Notpushed, "))
_OBD_OUTCOMES = tuple(status for status in TRANSACTION_STATUSES if status.startswith("OBD "))

Chains = list[tuple[tuple[str, ...], float]]


def _chains(*specific: tuple[tuple[str, ...], float]) -> Chains:
    """Chains a pushed transaction follows: the common ones, the channel's own, and each
    Notpushed reason (rare, final at once)."""
    common: Chains = [
        (("Attempted Send", _SENT, _DELIVERED), 0.2),
        ((_SENT, _DELIVERED), 0.35),
        ((_DELIVERED,), 0.15),
        ((_SENT, "Failed to deliver to the Customer"), 0.05),
        (("Attempted Send", "Expired"), 0.02),
        (("Duplicate",), 0.01),
        (("Invalid",), 0.01),
    ]
    return common + list(specific) + [((reason,), 0.004) for reason in _NOT_PUSHED]


# Pushed transactions per channel: status chains moving with the generation.
_PUSH_CHAINS: dict[int, Chains] = {
    SMS: _chains(((_SENT, "Partial Delivery"), 0.02), ((_SENT,), 0.03)),
    MMS: _chains(((_SENT, "Partial Delivery"), 0.03)),
    USSD: _chains(),
    OBD: [(("Attempted Send", _SENT, outcome), 0.6 / len(_OBD_OUTCOMES)) for outcome in _OBD_OUTCOMES]
    + [((_SENT, outcome), 0.4 / len(_OBD_OUTCOMES)) for outcome in _OBD_OUTCOMES]
    + [((reason,), 0.004) for reason in _NOT_PUSHED],
    EMAIL: _chains(((_SENT, "Email, hardbounced"), 0.03), ((_SENT, "EmailSoftbounced"), 0.03),
                   ((_SENT, "Email, Mailblocks"), 0.01)),
    APP: _chains(((_SENT,), 0.05)),
}
# Transactions that answer an earlier push (or stand alone when there is none that day).
_RESPONSES: dict[int, list[tuple[str, float]]] = {
    SMS: [("SMS, LinkClicked", 0.3), ("Landing Page Open", 0.15), ("Landing Page Submit", 0.05),
          ("Click Transaction", 0.05), ("MSISDN Unsubscribe", 0.04), ("MOProcessedSuccess", 0.1),
          ("MOProcessedFailed", 0.02), ("DNDAddition", 0.03), ("DNDRemoval", 0.01),
          ("EventProcessedSuccess", 0.1), ("EventProcessedFailed", 0.02),
          ("ActionProcessedSuccess", 0.05), ("ActionProcessedFailed", 0.01)],
    MMS: [("MMS, LinkClicked", 0.6), ("Landing Page Open", 0.3), ("Landing Page Submit", 0.1)],
    USSD: [("USSD, DTMF", 0.7), ("Click Transaction", 0.1), ("MOProcessedSuccess", 0.15),
           ("MOProcessedFailed", 0.05)],
    OBD: [("ActionProcessedSuccess", 0.6), ("ActionProcessedFailed", 0.1), ("DNDAddition", 0.3)],
    EMAIL: [("Email,Opened", 0.5), ("Email, LinkClicked", 0.2), ("Email, ISPcomplaints", 0.01),
            ("Email Unsubscribe", 0.03), ("Landing Page Open", 0.08), ("Landing Page Submit", 0.03),
            ("EventProcessedSuccess", 0.08), ("EventProcessedFailed", 0.02),
            ("ActionProcessedSuccess", 0.04), ("ActionProcessedFailed", 0.01)],
    APP: [("App notification, Opened", 0.6), ("Landing Page Open", 0.1), ("Click Transaction", 0.1),
          ("EventProcessedSuccess", 0.1), ("EventProcessedFailed", 0.03),
          ("ActionProcessedSuccess", 0.05), ("ActionProcessedFailed", 0.02)],
}
_LOOK_BACK = 20  # transactions a response may look back for the push it answers
_MSISDN_CHANNELS: list[tuple[int, float]] = [(SMS, 0.7), (MMS, 0.08), (USSD, 0.07), (OBD, 0.15)]
_FAILURE_WORDS = ("Failed", "Notpushed", "bounced", "Mailblocks", "ISPcomplaints", "Expired",
                  "Invalid", "Duplicate", "Partial")
_CAMPAIGNS = ("Festive Offers", "Bill Reminders", "Card Activation", "Loyalty Rewards",
              "Service Alerts", "KYC Update")

# What the customer does with the message an event pushed, per channel of the event's key.
_EVENT_RESPONSES = {SMS: "SMS, LinkClicked", EMAIL: "Email, LinkClicked", APP: "App notification, Opened"}
_EVENT_STEP = timedelta(minutes=1)  # event processed → message delivered → click
_EVENT_CLICK_SHARE = 0.5
_EVENT_ACCEPTED = "Event accepted for processing"
# Scripted event answers besides "accept" and "lost": code → (HTTP status, None for the
# tenant's configured one, and the doc's description).
_SCRIPTED_ERRORS: dict[str, tuple[int | None, str]] = {
    "429": (429, "Too many requests. Throttle limit reached for the time window."),
    "430": (401, "Authorization failed. This resource is not allowed to access using this TOKEN or KEY"),
    "498": (401, "Invalid token or Access token expired"),
    "499": (499, "Request failed. Check the exact reason of failure in application code and "
                 "description of error stream."),
    "500": (None, "Internal server error"),
    "502": (502, "Bad gateway"),
    "1001": (None, "Invalid input JSON"),
    "1002": (None, "Mandatory field missing: EventID / EventKey"),
    "1003": (None, "No recommendation available"),
}
SCRIPT_ANSWERS = ("accept", "lost", *_SCRIPTED_ERRORS)


@dataclass(frozen=True)
class ReceivedEvent:
    """An event the event API accepted, as sent (the key not normalised)."""

    event_id: str
    event_key: str
    params: dict[str, Any]
    transaction_id: str  # what the API answered, and what the processed transaction carries
    received_at: datetime  # aware, on the sandbox's clock


def channels_for(key: str) -> tuple[int, ...]:
    """The channels a key can have transactions on: email → EMAIL, MSISDN → SMS/MMS/USSD/OBD,
    anything else (an app device id) → APP."""
    if "@" in key:
        return (EMAIL,)
    if re.fullmatch(r"\+?\d{8,15}", key):
        return (SMS, MMS, USSD, OBD)
    return (APP,)


def statuses_by_channel() -> dict[int, set[str]]:
    """Every status each channel can show (for tests: together they are TRANSACTION_STATUSES)."""
    return {channel: {status for chain, _ in _PUSH_CHAINS[channel] for status in chain}
            | {status for status, _ in _RESPONSES[channel]} for channel in CHANNEL_NAMES}


class WebexApi:
    def __init__(self, config: SandboxConfig, state: SandboxState) -> None:
        self.config = config
        self.settings = config.webex
        self.state = state
        unknown = {answer for answers in self.settings.event_script.values() for answer in answers
                   if answer not in SCRIPT_ANSWERS}
        if unknown:
            raise ValueError(f"webex event_script: unknown answers {sorted(unknown)}, "
                             f"expected one of {', '.join(SCRIPT_ANSWERS)}")
        self._script = {self._identity(key): answers for key, answers in self.settings.event_script.items()}
        # The server is threaded: the received events and script positions change under this lock.
        self._lock = threading.Lock()
        self._events: list[ReceivedEvent] = []
        self._events_by_key: dict[str, list[ReceivedEvent]] = {}
        self._script_used: dict[str, int] = {}

    def register(self, router: Router) -> None:
        for path in TRANSACTIONS_PATHS:
            router.add("GET", path, self.handle_transactions)
        for path in EVENTS_PATHS:
            router.add("POST", path, self.handle_event)

    # -- data -----------------------------------------------------------------------------

    def _identity(self, key: str) -> str:
        """Keys compare without case for emails and without a leading '+' for MSISDNs."""
        return key.lower() if "@" in key else key.removeprefix("+")

    @functools.cached_property
    def _busy_keys(self) -> frozenset[str]:
        return frozenset(self._identity(busy) for busy in self.settings.busy_keys)

    def is_busy(self, key: str) -> bool:
        identity = self._identity(key)
        return identity in self._busy_keys or (
            self.settings.busy_share > 0
            and Draw(self.config.seed, "webex-busy", identity).unit(0) < self.settings.busy_share)

    def is_quiet(self, key: str) -> bool:
        """A key that never has a transaction (never a busy one)."""
        return (self.settings.quiet_share > 0 and not self.is_busy(key)
                and Draw(self.config.seed, "webex-quiet", self._identity(key)).unit(0) < self.settings.quiet_share)

    def wraps_response(self, key: str) -> bool:
        """Whether this key's answer is {"transactions": [...]} rather than a bare array."""
        draw = Draw(self.config.seed, "webex-wrap", self._identity(key))
        return draw.unit(0) < self.settings.wrapped_response_share

    def daily_count(self, key: str, day: date) -> int:
        """Transactions of the key on the tenant-local day."""
        draw = Draw(self.config.seed, "webex-volume", self._identity(key), day.isoformat())
        if self.is_quiet(key):
            return 0
        if self.is_busy(key):
            busy = round(self.settings.busy_daily_transactions * (0.8 + 0.4 * draw.unit(0)))
            return max(MAX_COUNT + 1, busy)
        top = max(0, self.settings.max_daily_transactions)
        # Geometric-ish: most days have none or one, a few have the maximum.
        return min(top, int(draw.unit(0) ** 2.2 * (top + 1)))

    def customer_id(self, key: str) -> str:
        return f"CID{Draw(self.config.seed, 'webex-customer', self._identity(key)).below(0, 10**8):08d}"

    def _draw(self, key: str, day: date, index: int) -> Draw:
        return Draw(self.config.seed, "webex", self._identity(key), day.isoformat(), index)

    def _is_push(self, key: str, day: date, index: int) -> bool:
        return self._draw(key, day, index).unit(1) < 0.7

    def _push_channel(self, key: str, day: date, index: int) -> int:
        options = channels_for(key)
        if len(options) == 1:
            return options[0]
        return self._draw(key, day, index).weighted(2, _MSISDN_CHANNELS)

    def _slot(self, key: str, day: date, index: int) -> tuple[LocalDay, int]:
        """The tenant-local day and the transaction's place in it."""
        local = local_day(self.settings.timezone, day)
        slot = spread_slot(index, self.daily_count(key, day), local.length,
                           self._draw(key, day, index).unit(0))
        return local, slot

    def visible(self, key: str, day: date, index: int) -> bool:
        """Whether the API reports the transaction yet: a late one appears only once its
        lateness has passed since its deployment-date (on the sandbox's clock)."""
        if self.settings.late_share <= 0:
            return True
        draw = Draw(self.config.seed, "webex-late", self._identity(key), day.isoformat(), index)
        if draw.unit(0) >= self.settings.late_share:
            return True
        local, slot = self._slot(key, day, index)
        return clock.now() >= local.instant(slot) + timedelta(hours=draw.unit(1) * self.settings.max_late_hours)

    def transaction(self, key: str, day: date, index: int, preview: bool = True) -> dict[str, Any]:
        """Transaction `index` (ascending by time) of the key on the tenant-local day."""
        draw = self._draw(key, day, index)
        local, slot = self._slot(key, day, index)
        pushed = self._answered_push(key, day, index)
        origin = index if pushed is None else pushed
        channel = self._push_channel(key, day, origin)
        if self._is_push(key, day, index):
            chain = draw.weighted(3, _PUSH_CHAINS[channel])
            status = chain[min(self.state.generation, len(chain) - 1)]
        else:
            status = draw.weighted(3, _RESPONSES[channel])
        campaign = Draw(self.config.seed, "webex-campaign", self._identity(key), day.isoformat(),
                        origin)
        campaign_number = campaign.below(0, len(_CAMPAIGNS))
        deployment_number = campaign.below(1, 3)
        failed = _is_failure(status)
        row: dict[str, Any] = {
            "campaign-id": str(41_000 + campaign_number),
            "campaign-name": _CAMPAIGNS[campaign_number],
            "deployment-id": str(880_000 + campaign_number * 100 + channel * 10 + deployment_number),
            "deployment-name": (f"{_CAMPAIGNS[campaign_number]} - {CHANNEL_NAMES[channel]} "
                                f"wave {deployment_number + 1}"),
            "deployment-date": naive_text(local.naive(slot)),
            "key": key,
            "customer-id": self.customer_id(key),
            "transaction-status": status,
            "error-code": str(2000 + TRANSACTION_STATUSES.index(status)) if failed else "0",
            "channel": str(channel),
            "description": "Failure" if failed else "Success",
            "transaction-id": self._transaction_id(key, day, index),
            "link-transaction-id": "" if pushed is None else self._transaction_id(key, day, pushed),
            "code": "1000",
        }
        if preview and channel in _PREVIEW_CHANNELS:
            message = self._transaction_id(key, day, origin)  # a response previews what it answers
            row["msg_preview_url"] = f"https://preview.webexcampaign.invalid/m/{message}"
        return row

    def _transaction_id(self, key: str, day: date, index: int) -> str:
        return _uuid(Draw(self.config.seed, "webex-txn", self._identity(key), day.isoformat(), index))

    def last_transactions(self, key: str, first_day: date, last_day: date, count: int,
                          channel: int | None = None, preview: bool = True) -> list[dict[str, Any]]:
        """What the API answers: the last `count` transactions in [first_day, last_day]
        (tenant-local dates), ascending; only indices that make the cut are generated."""
        if channel is not None and channel not in channels_for(key):
            return []
        found: list[dict[str, Any]] = []
        day = last_day
        while day >= first_day and len(found) < count:
            found += itertools.islice(self._day_descending(key, day, channel, preview), count - len(found))
            day -= timedelta(days=1)
        return found[::-1]

    def _day_descending(self, key: str, day: date, channel: int | None,
                        preview: bool) -> Iterator[dict[str, Any]]:
        """The key's transactions on the tenant-local day that the API reports now, latest
        first: the generated ones merged by deployment-date with those of its events (lazily,
        so only what a caller takes is generated)."""
        events = self._event_day(key, day, channel, preview)
        for index in range(self.daily_count(key, day) - 1, -1, -1):
            if channel is not None and self._channel_of(key, day, index) != channel:
                continue
            if not self.visible(key, day, index):
                continue
            local, slot = self._slot(key, day, index)
            stamp = naive_text(local.naive(slot))
            while events and events[-1]["deployment-date"] >= stamp:
                yield events.pop()
            yield self.transaction(key, day, index, preview)
        yield from reversed(events)

    def _answered_push(self, key: str, day: date, index: int) -> int | None:
        """For a response, the latest push of the same day shortly before it (None when it
        stands alone, and for pushes). The look-back is bounded so busy keys stay cheap."""
        if self._is_push(key, day, index):
            return None
        return next((earlier for earlier in range(index - 1, max(-1, index - 1 - _LOOK_BACK), -1)
                     if self._is_push(key, day, earlier)), None)

    def _channel_of(self, key: str, day: date, index: int) -> int:
        pushed = self._answered_push(key, day, index)
        return self._push_channel(key, day, index if pushed is None else pushed)

    # -- events ---------------------------------------------------------------------------

    def received_events(self) -> list[ReceivedEvent]:
        """The accepted events (answered or lost), in the order received."""
        with self._lock:
            return list(self._events)

    def event_deployment(self, event_id: str) -> str:
        """The deployment-id an event id's transactions show under: configured, or a stable one."""
        configured = self.settings.event_deployments.get(event_id)
        if configured is not None:
            return configured
        return str(990_000 + Draw(self.config.seed, "webex-event-deployment", event_id).below(0, 1000))

    def event_clicked(self, transaction_id: str) -> bool:
        """Whether the customer clicks (opens) the message the event pushed."""
        return Draw(self.config.seed, "webex-event-clicked", transaction_id).unit(0) < _EVENT_CLICK_SHARE

    def _record(self, event_id: str, event_key: str, params: dict[str, Any]) -> ReceivedEvent:
        """Keep an accepted event. Its transaction-id follows from the seed, how many came
        before and when it came: unique across the sandbox's restarts, as a tenant's are."""
        with self._lock:
            now = clock.now()
            transaction_id = _uuid(Draw(self.config.seed, "webex-event", len(self._events), now.isoformat()))
            event = ReceivedEvent(event_id, event_key, dict(params), transaction_id, now)
            self._events.append(event)
            self._events_by_key.setdefault(self._identity(event_key), []).append(event)
        return event

    def _scripted_answer(self, key: str) -> str:
        """The script's answer to this valid event of the key: "accept" once none is left."""
        identity = self._identity(key)
        answers = self._script.get(identity)
        if not answers:
            return "accept"
        with self._lock:
            position = self._script_used.get(identity, 0)
            self._script_used[identity] = position + 1
        return answers[position] if position < len(answers) else "accept"

    def _event_day(self, key: str, day: date, channel: int | None, preview: bool) -> list[dict[str, Any]]:
        """The transactions of the key's events on the tenant-local day whose deployment-date
        has passed, ascending."""
        with self._lock:
            events = list(self._events_by_key.get(self._identity(key), ()))
        if not events:
            return []
        zone = ZoneInfo(self.settings.timezone)
        now = clock.now()
        rows = [row for event in events for when, row in self._event_transactions(event, preview)
                if when <= now and when.astimezone(zone).date() == day
                and (channel is None or row["channel"] == str(channel))]
        return sorted(rows, key=lambda row: row["deployment-date"])  # stable: received order on ties

    def _event_transactions(self, event: ReceivedEvent, preview: bool) -> list[tuple[datetime, dict[str, Any]]]:
        """What the vendor makes of an accepted event, each with its instant: the processed
        transaction carrying the event's transaction-id; on success the message it pushed, a
        minute later, delivered, and for some events a click on it a minute after that."""
        channel = channels_for(event.event_key)[0]
        deployment = self.event_deployment(event.event_id)
        campaign = Draw(self.config.seed, "webex-event-campaign", event.event_id).below(0, 1000)
        zone = ZoneInfo(self.settings.timezone)

        def row(step: int, status: str, transaction_id: str, link: str,
                message: str) -> tuple[datetime, dict[str, Any]]:
            when = event.received_at + step * _EVENT_STEP
            failed = _is_failure(status)
            fields: dict[str, Any] = {
                "campaign-id": str(42_000 + campaign),
                "campaign-name": f"Event: {event.event_id}",
                "deployment-id": deployment,
                "deployment-name": f"Event: {event.event_id} - {CHANNEL_NAMES[channel]}",
                "deployment-date": naive_text(when.astimezone(zone)),
                "key": event.event_key,
                "customer-id": self.customer_id(event.event_key),
                "transaction-status": status,
                "error-code": str(2000 + TRANSACTION_STATUSES.index(status)) if failed else "0",
                "channel": str(channel),
                "description": "Failure" if failed else "Success",
                "transaction-id": transaction_id,
                "link-transaction-id": link,
                "code": "1000",
            }
            if preview and channel in _PREVIEW_CHANNELS:
                fields["msg_preview_url"] = f"https://preview.webexcampaign.invalid/m/{message}"
            return when, fields

        own = event.transaction_id
        if str(event.params.get("sandbox_fail", "")).lower() == "true":  # a test seam
            return [row(0, "EventProcessedFailed", own, "", own)]
        push = _uuid(Draw(self.config.seed, "webex-event-push", own))
        rows = [row(0, "EventProcessedSuccess", own, "", own), row(1, _DELIVERED, push, "", push)]
        if self.event_clicked(own):
            click = _uuid(Draw(self.config.seed, "webex-event-click", own))
            rows.append(row(2, _EVENT_RESPONSES[channel], click, push, push))
        return rows

    # -- HTTP -----------------------------------------------------------------------------

    def _key_for_customer_id(self, customer_id: str) -> str | None:
        return next((key for key in self.settings.keys + self.settings.busy_keys
                     if self.customer_id(key) == customer_id), None)

    def handle_transactions(self, request: Request, match: re.Match[str]) -> Response:
        if not bearer_ok(request, self.settings.api_key):
            return _unauthorized()
        query = request.query
        key = query.get("key") or None
        if key is None and query.get("customer-id"):
            key = self._key_for_customer_id(query["customer-id"]) or ""
        if key is None:
            return _error(200, 1002, "Mandatory field missing such as key or customer id")
        try:
            count = int(query.get("count") or DEFAULT_COUNT)
            today = clock.today(ZoneInfo(self.settings.timezone))
            to_date = _parse_date(query["to-date"]) if query.get("to-date") else None
            if to_date is None:
                last_day = today
            elif self.config.documented:
                last_day = to_date - timedelta(days=1)  # exclusive: from-date = to-date is empty
            else:
                last_day = to_date
            first_day = (_parse_date(query["from-date"]) if query.get("from-date")
                         else last_day - timedelta(days=DEFAULT_WINDOW_DAYS - 1))
        except ValueError:
            return _error(200, 1001,
                          "Invalid input: count is a number, from-date and to-date are yyyy-MM-dd")
        if not 1 <= count <= MAX_COUNT:
            return _error(200, 1001, f"Invalid input: count must be between 1 and {MAX_COUNT}")
        if (last_day if to_date is None else to_date) < first_day:
            return _error(200, 1001, "Invalid input: to-date is before from-date")
        channel = None
        if query.get("channel"):
            names = {name: code for code, name in CHANNEL_NAMES.items()}
            channel = names.get(query["channel"].upper())
            if channel is None:
                return _error(200, 1001, f"Invalid input: channel must be one of {', '.join(names)}")
        preview = query.get("message_preview", "").lower() == "true"
        rows = self.last_transactions(key, first_day, last_day, count, channel, preview) if key else []
        rows = self.state.faults.malformed(self.state.generation, "webex", rows,
                                           lambda r: r["transaction-id"], "deployment-date", "channel")
        if key and self.wraps_response(key):
            return json_response(200, {"transactions": rows})
        return json_response(200, rows)

    def handle_event(self, request: Request, match: re.Match[str]) -> Response:
        if not bearer_ok(request, self.settings.api_key):
            return _unauthorized()
        failure = self.settings.event_error_http_status
        if len(request.body) > MAX_EVENT_BYTES:
            return _error(failure, 499,
                          f"Request failed: the event payload exceeds {MAX_EVENT_BYTES // 1024}KB")
        try:
            body = request.json()
        except ValueError:
            return _error(failure, 1001, "Invalid input JSON")
        if not isinstance(body, dict):
            return _error(failure, 1001, "Invalid input JSON")
        for name in ("event-id", "event-key"):
            if not isinstance(body.get(name), str | int) or str(body[name]).strip() == "":
                return _error(failure, 1002, f"Mandatory field missing: {name}")
        params = body.get("event-params", {})
        if params is None:
            params = {}
        if not isinstance(params, dict):
            return _error(failure, 1001, "Invalid input JSON: event-params must be an object")
        if len(params) > MAX_EVENT_PARAMS:
            return _error(failure, 499,
                          f"Request failed: more than {MAX_EVENT_PARAMS} event parameters")
        for name, value in params.items():
            if isinstance(value, str) and value.strip() in ("NULL", "null"):
                return _error(failure, 1001,
                              f"Invalid input JSON: event parameter {name} cannot be NULL")
        event_id, event_key = str(body["event-id"]), str(body["event-key"])
        answer = self._scripted_answer(event_key)
        if answer in _SCRIPTED_ERRORS:
            status, description = _SCRIPTED_ERRORS[answer]
            return _error(status or failure, int(answer), description,
                          {"Retry-After": "1"} if answer == "429" else None)
        event = self._record(event_id, event_key, params)
        response = json_response(200, {"code": 1000, "transaction-id": event.transaction_id,
                                       "description": _EVENT_ACCEPTED})
        response.abort = answer == "lost"  # processed, but the answer never arrives
        return response

    # -- for tests ------------------------------------------------------------------------

    def transactions(self, key: str, local_day: date, preview: bool = True) -> list[dict[str, Any]]:
        """All of the key's transactions on the tenant-local day that the API reports now,
        its events' included, ascending (as the sandbox holds them now; a busy day holds more
        than one call can return)."""
        return list(self._day_descending(key, local_day, None, preview))[::-1]


def _is_failure(status: str) -> bool:
    return any(word in status for word in _FAILURE_WORDS)


def _uuid(draw: Draw) -> str:
    """A UUID from the draw's bits, 32 per slot: a float carries only 53 exact bits."""
    bits = 0
    for slot in range(4):
        bits = bits << 32 | draw.below(slot, 2**32)
    return str(uuid.UUID(int=bits))


def _parse_date(value: str) -> date:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError(value)
    return date.fromisoformat(value)


def _unauthorized() -> Response:
    return _error(401, 430, "Authorization failed. This resource is not allowed to access using "
                            "this TOKEN or KEY")


def _error(status: int, code: int, description: str, headers: dict[str, str] | None = None) -> Response:
    return json_response(status, {"code": code, "description": description}, headers)


def pipeline_environment(url: str, config: SandboxConfig) -> dict[str, str]:
    """What points the pipeline's Webex source at this sandbox (and its tenant's zone); a local
    sandbox needs no request budget."""
    return {"WEBEX_BASE_URL": url, "WEBEX_API_KEY": config.webex.api_key,
            "WEBEX_KEYS": ",".join(config.webex.keys), "WEBEX_TIMEZONE": config.webex.timezone,
            "WEBEX_MAX_REQUESTS_PER_SECOND": "0"}
