"""The Webex Campaign customer-transactions API as a Dagster resource: one key's transactions
over a window of tenant-local days, split until no answer is cut, for many keys at once."""

import threading
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import httpx
from pydantic import Field

from pipelines.model import clock
from pipelines.orchestration.vendor import VendorResource
from pipelines.transport.http import (
    BearerAuth,
    BodyCheck,
    ErrorCheck,
    RequestRate,
    RetryPolicy,
    TransientVendorError,
    VendorError,
    VendorHttp,
    vendor_text,
)

VENDOR = "webex"
DEFAULT_TRANSACTIONS_PATH = "/campaignapi/resources/v3/customertransactions"
DEFAULT_EVENTS_PATH = "/campaignapi/resources/v3/events"
MAX_COUNT = 50

# Codes of an error object meaning "later": throttled, request failed, internal error.
_LATER_CODES = frozenset({"429", "499", "500"})
# What fails every key alike (credentials, a wrong path): asking for the next key is pointless.
_FATAL_CODES = frozenset({"405", "430", "498"})
_FATAL_STATUSES = frozenset({401, 403, 404, 405, 498})
_SUCCESS_CODES = frozenset({"1000"})


@dataclass(frozen=True)
class RunBudget:
    """What one run may spend: requests (None: no limit), seconds, and its request pace."""

    requests: int | None
    seconds: float
    requests_per_second: float


@dataclass(frozen=True)
class TruncatedDay:
    """A tenant-local day whose own answer was still full: older transactions of that day may
    be missing, and no narrower window than a day can be asked for."""

    local_date: date
    returned: int


@dataclass(frozen=True)
class KeyWindow:
    """The tenant-local days [first, last] (inclusive) to ask one key for."""

    key: str
    first: date
    last: date


@dataclass
class KeyIncrement:
    """Everything one key's window yielded: its transactions (ascending) and its truncated days."""

    window: KeyWindow
    transactions: list[Any]
    truncated: list[TruncatedDay]
    requests: int


@dataclass
class KeyFailure:
    """A key whose window could not be fetched; the other keys go on."""

    window: KeyWindow
    error: VendorError

    @property
    def fatal(self) -> bool:
        """Whether the failure would hit every key alike (credentials, path)."""
        return (self.error.status in _FATAL_STATUSES
                or self.error.vendor_code in _FATAL_CODES)


def deployment_day(transaction: Any) -> date | None:
    """The tenant-local date of a transaction's `deployment-date`, or None when it has none
    that parses (such a record is never dropped here: it is the quarantine's concern)."""
    text = transaction.get("deployment-date") if isinstance(transaction, dict) else None
    if not isinstance(text, str):
        return None
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        return None


def collect_window(fetch: Callable[[date, date], Sequence[Any]], window: KeyWindow, count: int,
                   day_of: Callable[[Any], date | None] = deployment_day) -> KeyIncrement:
    """Every transaction of the window's days that `fetch(from_date, to_date)` can give, each
    answer holding at most the latest `count` transactions of the days asked.

    Whether to-date is inclusive is undocumented, so days [start, end] are asked as from-date =
    start, to-date = end + 1 day: under either reading the answer covers `end`. Rows dated after
    `end` (by `day_of`; an inclusive vendor's next day) are dropped here: they belong to the
    next window, or the next run. Whether an answer is full is decided on its raw length,
    before that drop: a full answer may hide older rows of the window, whatever it holds.

    A full answer's window is halved and both halves are asked again (its rows are dropped:
    the halves return them). A single day whose answer is full cannot be split. If that answer
    held rows of the next day (the vendor reads to-date inclusively, and the next day's rows
    may have crowded this day's out), the day is asked once more with to-date = from-date:
    exactly that day under the inclusive reading, nothing under the exclusive one; whichever
    answer holds more of the day's rows is kept. A day whose own rows still fill an answer is
    reported truncated. Halves are walked from an explicit stack, oldest first, so the result
    is in date order and the stack never holds more than about log2(days) windows. A window of
    n days costs at most 2n - 1 requests, plus one for each single day asked again: at most
    3n - 1, and 2n - 1 against a vendor that reads to-date exclusively."""
    if window.last < window.first:
        raise ValueError(f"empty window: {window.first} .. {window.last}")
    transactions: list[Any] = []
    truncated: list[TruncatedDay] = []
    requests = 0

    def ask(start: date, to_date: date, end: date) -> tuple[int, list[Any]]:
        """The raw answer's length, and its rows dated `end` or before (or undated)."""
        nonlocal requests
        answer = fetch(start, to_date)
        requests += 1
        kept = [row for row in answer if (day := day_of(row)) is None or day <= end]
        return len(answer), kept

    pending = [(window.first, window.last)]
    while pending:
        start, end = pending.pop()
        returned, rows = ask(start, end + timedelta(days=1), end)
        if returned < count:
            transactions.extend(rows)
        elif start < end:
            middle = start + (end - start) // 2
            pending.append((middle + timedelta(days=1), end))
            pending.append((start, middle))  # on top: the older half is asked first
        else:
            if len(rows) < returned:  # the next day's rows came too: to-date read inclusively
                _, alone = ask(start, start, end)
                if len(alone) > len(rows):
                    rows = alone
            transactions.extend(rows)
            if len(rows) >= count:
                truncated.append(TruncatedDay(start, len(rows)))
    return KeyIncrement(window, transactions, truncated, requests)


def key_window(key: str, loaded_through: date | None, today: date, *, initial_days: int,
               lookback_days: int = 0) -> KeyWindow:
    """The days to ask a key for: from its watermark (inclusive, as that day may have grown
    since; `lookback_days` earlier to catch late status changes) to today; a key never loaded
    starts `initial_days` back, today included."""
    if loaded_through is None:
        first = today - timedelta(days=initial_days - 1)
    else:
        first = min(loaded_through - timedelta(days=lookback_days), today)
    return KeyWindow(key, first, today)


class WebexSession:
    """An open connection to Webex for one run, usable from several threads.

    VendorHttp counts calls and retries without locks, so each thread gets its own (with its
    own connection pool); the session adds their counters up, and counts what a run has
    committed of its request budget (`committed`)."""

    def __init__(self, make_http: Callable[[], VendorHttp], path: str, count: int,
                 max_concurrency: int) -> None:
        self._make_http = make_http
        self._local = threading.local()
        self._lock = threading.Lock()
        self._clients: list[VendorHttp] = []
        self._queued = 0  # keys handed to the pool that no worker has picked up yet
        self._under_way: dict[VendorHttp, int] = {}  # a worker's layer -> its calls at its key's start
        self.path = path
        self.endpoint = f"GET {path}"
        self.count = count
        self.max_concurrency = max_concurrency

    @property
    def http(self) -> VendorHttp:
        """The calling thread's VendorHttp."""
        http = getattr(self._local, "http", None)
        if http is None:
            http = self._make_http()
            self._local.http = http
            with self._lock:
                self._clients.append(http)
        return http

    @property
    def calls(self) -> int:
        with self._lock:
            return sum(http.calls for http in self._clients)

    @property
    def retries(self) -> int:
        with self._lock:
            return sum(http.retries for http in self._clients)

    @property
    def committed(self) -> int:
        """The calls made, plus one for each key started that has made none yet: the least
        the keys started will cost. Each worker's count is read once, so a key counts its first
        call once, as that call or as its reservation, however far the workers have got."""
        with self._lock:
            committed = self._queued
            for http in self._clients:
                calls = http.calls
                committed += calls + (1 if self._under_way.get(http) == calls else 0)
            return committed

    def close(self) -> None:
        with self._lock:
            clients, self._clients = self._clients, []
        for http in clients:
            http.close()

    def transactions(self, key: str, from_date: date, to_date: date) -> list[Any]:
        """One answer: at most `count` of the key's latest transactions from `from_date` to
        `to_date`, sent as given (whether the vendor includes to-date is undocumented: see
        collect_window, which chooses the dates)."""
        body = self.http.request_json("GET", self.path, endpoint=self.endpoint, params={
            "key": key, "count": self.count, "from-date": from_date.isoformat(),
            "to-date": to_date.isoformat(), "message_preview": "true"})
        return transactions_of(body, self.endpoint)

    def fetch_key(self, window: KeyWindow) -> KeyIncrement:
        """Every transaction of one key in its window, windows split as needed."""
        return collect_window(partial(self.transactions, window.key), window, self.count)

    def fetch_keys(self, windows: Iterable[KeyWindow]) -> Generator[KeyIncrement | KeyFailure, None, None]:
        """Each key's increment (or failure) as soon as it is fetched, `max_concurrency` keys
        at a time. At most twice that many are fetched ahead of the consumer, so memory holds a
        bounded number of increments however many keys there are. Stopping early cancels the
        keys not started and waits for those under way."""
        ahead = 2 * self.max_concurrency
        pool = ThreadPoolExecutor(max_workers=self.max_concurrency, thread_name_prefix="webex")
        pending: set[Future[KeyIncrement | KeyFailure]] = set()
        try:
            for window in windows:
                while len(pending) >= ahead:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        yield future.result()
                with self._lock:
                    self._queued += 1
                pending.add(pool.submit(self._fetch_or_fail, window))
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _fetch_or_fail(self, window: KeyWindow) -> KeyIncrement | KeyFailure:
        try:
            with self._key_under_way(self.http):
                return self.fetch_key(window)
        except VendorError as error:
            return KeyFailure(window, error)

    @contextmanager
    def _key_under_way(self, http: VendorHttp) -> Iterator[None]:
        """A key picked up by this worker: its reservation stays until `http` counts its first
        call, in one step with leaving the queue, so `committed` never counts it twice or not
        at all."""
        with self._lock:
            self._queued -= 1
            self._under_way[http] = http.calls
        try:
            yield
        finally:
            with self._lock:
                del self._under_way[http]


def transactions_of(body: Any, endpoint: str) -> list[Any]:
    """The transaction list of an answer: the body itself, or the list an object holds (under
    "transactions", or its only list-valued field)."""
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        transactions = body.get("transactions")
        if isinstance(transactions, list):
            return transactions
        lists = [value for value in body.values() if isinstance(value, list)]
        if len(lists) == 1:
            return lists[0]
    raise VendorError(VENDOR, endpoint, 200, "answer is neither a transaction list nor an "
                                             "object holding one")


def _code_error(endpoint: str, status: int, body: dict[str, Any]) -> VendorError:
    """The error a {code, description} object stands for; codes meaning "later" are retried."""
    code = str(body.get("code")).strip()
    description = vendor_text(body.get("description") or body.get("message") or "")
    if code in _LATER_CODES:
        return TransientVendorError(VENDOR, endpoint, status, f"code {code}: {description}",
                                    vendor_code=code, throttled=code == "429")
    return VendorError(VENDOR, endpoint, status, f"code {code}: {description}", vendor_code=code)


def _check_body(endpoint: str, body: Any) -> None:
    """Webex reports failures as {code, description}, also under HTTP 200."""
    if isinstance(body, dict) and "code" in body and str(body["code"]).strip() not in _SUCCESS_CODES:
        raise _code_error(endpoint, 200, body)
    transactions_of(body, endpoint)


def _check_error(endpoint: str, status: int, body: Any) -> None:
    """An error status whose body's code means "later" (e.g. HTTP 499, code 499) is retried."""
    if isinstance(body, dict) and str(body.get("code")).strip() in _LATER_CODES:
        raise _code_error(endpoint, status, body)


class WebexClient(VendorResource):
    """Webex Campaign `GET {transactions_path}?key=&count=&from-date=&to-date=`, API secret key
    as Bearer. Customer keys are configuration: the API lists no customers."""

    vendor: ClassVar[str] = VENDOR
    check_body: ClassVar[BodyCheck | None] = _check_body
    check_error: ClassVar[ErrorCheck | None] = _check_error

    base_url: str = Field(description="the tenant's API origin, e.g. https://{tenant}.webexcampaign.io")
    api_key: str = Field(description="API secret key, sent as Authorization: Bearer")
    # `keys` would shadow the mapping protocol Dagster relies on, hence the alias.
    customer_keys: str = Field(default="", alias="keys", description=(
        "comma-separated customer keys to follow (MSISDNs, emails or app device ids) besides "
        "those sql/audiences/webex_keys.sql lists: enough for a small setup"))
    timezone: str | None = Field(default=None, description=(
        "IANA zone of the tenant server: from-date/to-date and deployment-date are local to it "
        "(required: the document gives no zone)"))
    transactions_path: str = Field(default=DEFAULT_TRANSACTIONS_PATH, description=(
        "path of the customer-transactions resource (legacy tenants: /imicampaignapi/...)"))
    events_path: str = Field(default=DEFAULT_EVENTS_PATH, description=(
        "path of the event API that activations post to (legacy tenants: /imicampaignapi/...)"))
    in_doubt_settle_hours: int = Field(default=48, description=(
        "an activation's event whose answer was lost is sent again only when the key's "
        "transactions show no trace of it this many hours after the attempt (the vendor's "
        "reporting lag: see lookback_days)"))
    count: int = Field(default=MAX_COUNT, ge=1, le=MAX_COUNT,
                       description="transactions per answer (the vendor's maximum is 50)")
    initial_days: int = Field(default=7, ge=1, description=(
        "days (today included) loaded for a key that has no watermark yet"))
    # Webex's reporting lags: a transaction can appear in the API up to two days after its
    # deployment-date. Re-asking the two tenant-local days before the watermark loads it on the
    # next run. A quiet key still costs one call: the window is split only when an answer is full.
    lookback_days: int = Field(default=2, ge=0, description=(
        "tenant-local days before the watermark re-asked each run, so that transactions the "
        "vendor reports late (up to that many days) are still loaded"))
    max_requests_per_second: int = Field(default=20, ge=0, description=(
        "the tenant's request budget (0: none), shared by every shard run and all of a run's "
        "threads, so that fanning out over thousands of keys does not provoke throttling"))
    run_seconds: int = Field(default=1500, description=(
        "the slot a schedule tick's runs share (the schedule is every 30 minutes: 25 minutes "
        "leaves room); the keys a run cannot reach in its share stay due, the longest due first"))
    concurrent_shards: int = Field(default=1, description=(
        "shard runs that may run at once (the webex pool's limit in dagster.yaml): the "
        "tenant's request rate is divided among them"))
    follow_days: int = Field(default=30, ge=0, description=(
        "the audience query (sql/audiences/webex_keys.sql) follows customers seen in this many "
        "days (0: none, WEBEX_KEYS only)"))
    max_key_lag_hours: int = Field(default=6, description=(
        "the freshness check fails when a key has been due, and not pulled, for longer"))

    @property
    def configured_keys(self) -> list[str]:
        """The keys listed in `keys`, without blanks. The warehouse follows them as their
        identity (ops.webex_key_identity: spellings of one customer count once)."""
        return [key for key in (part.strip() for part in self.customer_keys.split(",")) if key]

    def run_budget(self, shards_in_run: int, shard_count: int) -> "RunBudget":
        """What one run over `shards_in_run` of `shard_count` shards may spend.

        The vendor's budget is the tenant's, shared by every shard: a schedule tick starts a
        run per shard, `concurrent_shards` of them at once (the webex pool's limit), and all of
        them must end within the tick's slot (`run_seconds`) or runs would pile up. So a run
        paces its requests at the tenant's rate divided by the runs at once, and may spend
        its shards' share of the slot: rate x slot x shards_in_run / shard_count requests,
        and slot x concurrent_shards x shards_in_run / shard_count seconds."""
        # Bound to environment variables, these are only known at run time: checked here.
        if self.run_seconds < 1 or self.concurrent_shards < 1:
            raise ValueError("WEBEX_RUN_SECONDS and WEBEX_CONCURRENT_SHARDS must be 1 or more, not "
                             f"{self.run_seconds} and {self.concurrent_shards}")
        share = shards_in_run / shard_count
        requests = (int(self.max_requests_per_second * self.run_seconds * share)
                    if self.max_requests_per_second > 0 else None)
        return RunBudget(requests=requests,
                         seconds=self.run_seconds * min(1.0, self.concurrent_shards * share),
                         requests_per_second=self.max_requests_per_second / self.concurrent_shards)

    @property
    def zone(self) -> ZoneInfo:
        return self.vendor_zone(self.timezone, "WEBEX_TIMEZONE")

    def today(self) -> date:
        """Today on the tenant server's calendar."""
        return clock.today(self.zone)

    def auth(self) -> httpx.Auth:
        return BearerAuth(self.api_key)

    @contextmanager
    def session(self, *, rate: float | None = None, retry: RetryPolicy | None = None,
                transport: httpx.BaseTransport | None = None) -> Iterator["WebexSession"]:
        """An open connection for one run, paced at `rate` requests a second (default: the
        tenant's whole budget); `retry` and `transport` are for tests."""
        # One HTTP layer per thread, one request budget and one adaptive concurrency limit
        # for them all.
        make_http = partial(self.open_http, retry=retry, transport=transport,
                            rate=RequestRate(rate if rate is not None else self.max_requests_per_second),
                            concurrency=self.concurrency_limit())
        session = WebexSession(make_http, self.transactions_path or DEFAULT_TRANSACTIONS_PATH,
                               self.count, self.max_concurrency)
        try:
            yield session
        finally:
            session.close()
