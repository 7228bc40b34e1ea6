"""One HTTP layer for every vendor: timeouts on every request, retries with exponential
backoff and jitter on transient failures, `Retry-After` honoured, and errors that name the
vendor, endpoint and status but never a credential."""

import ipaddress
import random
import re
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable, Generator, Iterator, Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import orjson
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
)

from pipelines.model import clock
from pipelines.transport.concurrency import ConcurrencyLimit

# Vendor error text goes into exception messages, logs and Dagster: it is cut short, and what
# looks like personal data (an email address, a phone number or any long run of digits) is
# masked, since vendors echo the recipient they could not handle.
VENDOR_TEXT_CHARS = 160
_PERSONAL = re.compile(r"[^\s@]+@[^\s@]+|\+?\d[\d\s().-]{5,}\d")


def vendor_text(value: object) -> str:
    """A vendor's error text as safe to log: whitespace folded, personal data masked, capped."""
    text = " ".join(str(value).split())[:4 * VENDOR_TEXT_CHARS]
    masked = _PERSONAL.sub("<redacted>", text)
    return masked if len(masked) <= VENDOR_TEXT_CHARS else masked[:VENDOR_TEXT_CHARS - 1] + "…"


class VendorError(Exception):
    """A vendor call that failed for good. The message is safe to log: no credentials.

    `status` is the HTTP status; `vendor_code` the vendor's own error code from the body (a
    Webex or CINNOX `code`), when it sent one."""

    def __init__(self, vendor: str, endpoint: str, status: int | None, detail: str, *,
                 vendor_code: str | None = None) -> None:
        self.vendor, self.endpoint, self.status, self.detail = vendor, endpoint, status, detail
        self.vendor_code = vendor_code
        status_text = f"HTTP {status}" if status is not None else "no response"
        super().__init__(f"{vendor} {endpoint}: {status_text}: {detail}")


class TransientVendorError(VendorError):
    """A failure worth retrying: throttling, a server error, a vendor body code meaning "later"."""

    def __init__(self, vendor: str, endpoint: str, status: int | None, detail: str, *,
                 vendor_code: str | None = None, retry_after: float | None = None,
                 throttled: bool = False) -> None:
        super().__init__(vendor, endpoint, status, detail, vendor_code=vendor_code)
        self.retry_after = retry_after
        self._throttled = throttled

    @property
    def throttled(self) -> bool:
        """The vendor said "too many requests" (HTTP 429, or its own code for it)."""
        return self.status == 429 or self._throttled


class InDoubtError(VendorError):
    """A request that may or may not have reached the vendor: the connection failed after it
    was sent, or the answer was lost. Never retried for a request that is not idempotent
    (sending it again could act twice); its caller must find out what happened."""


class BearerAuth(httpx.Auth):
    """`Authorization: Bearer <token>` on every request (SenderGuide, CINNOX, Webex)."""

    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header
        yield request


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    max_elapsed_s: float = 120.0
    initial_backoff_s: float = 0.5
    max_backoff_s: float = 30.0
    retry_after_cap_s: float = 60.0


@dataclass(frozen=True)
class Timeouts:
    """Connect and read (between two bytes) timeouts, and an overall deadline per request:
    a vendor that drips a byte a minute never hits the read timeout."""

    connect_s: float = 10.0
    read_s: float = 60.0
    total_s: float = 300.0

    def as_httpx(self) -> httpx.Timeout:
        return httpx.Timeout(self.read_s, connect=self.connect_s)


class RequestRate:
    """A request budget for one vendor: at most `per_second` requests a second on average, in
    bursts of at most `burst`. Shared by every thread calling that vendor, so that fanning out
    over many keys does not provoke throttling in the first place.

    Learned, where the vendor's own limit is lower or unknown (`per_second` 0: no budget until
    the vendor throttles): a throttled answer sets the budget to 95% of the requests the vendor
    took over the last second (those sent, less those it throttled: its limit, as it just
    showed it), or to 95% of the pace it had, if lower, at most once a second for one burst of
    429s. The budget then holds for HOLD_S, and from there each second without throttling adds
    2%, never beyond the configured budget: the limit just shown is most likely still the
    limit, and each probe above it costs a 429 and its Retry-After. A limit that is never
    reached is never paced; one that is reached costs a Retry-After every ten seconds or so,
    instead of one for every request above it."""

    WINDOW_S = 1.0
    BACK_OFF = 0.95
    GROWTH = 1.02
    HOLD_S = 10.0

    def __init__(self, per_second: float, burst: int | None = None,
                 now: Callable[[], float] = time.monotonic) -> None:
        self.ceiling = per_second  # the configured budget; 0: none
        self.per_second = per_second
        self.capacity = float(burst or max(1, round(per_second)))
        self.learned = 0  # how many times a throttled answer set the budget
        self._now = now
        self._tokens = self.capacity
        self._updated = now()
        self._cut = self._grown = self._updated  # when the budget last went down, and up
        self._sent: deque[float] = deque()  # the last second's requests, less those throttled
        self._lock = threading.Lock()

    def acquire(self) -> None:
        """Wait, if needed, until a request may go."""
        with self._lock:
            now = self._now()
            per_second = self.per_second
            wait = 0.0
            if per_second > 0:
                self._tokens = min(self.capacity, self._tokens + (now - self._updated) * per_second)
                self._updated = now
                self._tokens -= 1
                wait = -self._tokens / per_second if self._tokens < 0 else 0.0
            self._sent.append(now + wait)
            self._forget(now)
        if wait:
            time.sleep(wait)

    def accepted(self) -> None:
        """The vendor answered without throttling: a clean second grows a learned budget."""
        with self._lock:
            now = self._now()
            if self.learned and now - self._cut >= self.HOLD_S \
                    and now - max(self._cut, self._grown) >= self.WINDOW_S:
                grown = self.per_second * self.GROWTH
                self.per_second = min(grown, self.ceiling) if self.ceiling > 0 else grown
                self._grown = now

    def throttled(self) -> None:
        """The vendor said "too many": pace at a little less than what it accepted."""
        with self._lock:
            now = self._now()
            if self._sent:
                self._sent.pop()  # this request: the vendor did not take it
            if self.learned and now - self._cut < self.WINDOW_S:
                return  # the same burst's other 429s: already taken into account
            self._forget(now)
            shown = max(1.0, len(self._sent) / self.WINDOW_S) * self.BACK_OFF
            # Throttled while paced, the pace itself was too fast (the vendor's window and ours
            # never quite agree): below it too, or the next burst of 429s would find it unchanged.
            self.per_second = min(shown, self.per_second * self.BACK_OFF) if self.per_second > 0 else shown
            self.capacity = 1.0
            self._tokens = min(self._tokens, 0.0)
            self._updated = self._cut = now
            self.learned += 1

    def _forget(self, now: float) -> None:
        while self._sent and self._sent[0] <= now - self.WINDOW_S:
            self._sent.popleft()


# Inspects a decoded 200 response and raises a VendorError when its body reports a failure.
BodyCheck = Callable[[str, Any], None]

# Inspects an error response (endpoint, HTTP status, decoded body or None) and may raise a more
# precise VendorError, e.g. a TransientVendorError for a vendor code meaning "later", or a final
# one for a code meaning "never" under a status that is otherwise retried (429, 5xx); when it
# returns, the generic VendorError (or, for those statuses, a TransientVendorError) is raised.
ErrorCheck = Callable[[str, int, Any], None]

TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


def parse_retry_after(value: str | None, cap_s: float) -> float | None:
    """Seconds to wait from a `Retry-After` header, in seconds or as an HTTP date; capped."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - clock.now()).total_seconds()
    return min(max(seconds, 0.0), cap_s)


def _is_transient(error: BaseException) -> bool:
    return isinstance(error, TransientVendorError | httpx.TransportError)


# Failures that happen before a request leaves this machine: retrying them never acts twice.
_UNSENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


# A decoded answer larger than this is refused: the vendors' largest pages are a few MB, and a
# compressed body that inflates past it (a gzip bomb) is stopped while inflating.
MAX_BODY_BYTES = 64 * 1024 * 1024
_CHUNK_BYTES = 256 * 1024
_ZLIB_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


class BodyTooLarge(VendorError):
    """An answer over the byte cap, decoded: refused, never retried."""


def _decoded_chunks(response: httpx.Response) -> Iterator[bytes]:
    """The body, decoded, in chunks of at most _CHUNK_BYTES: gzip and deflate are inflated here
    a chunk at a time (httpx would inflate a whole network chunk at once); any other encoding
    is left to httpx."""
    if response.is_stream_consumed:  # a body already in memory (a test's fake transport)
        yield response.content
        return
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("", "identity"):
        yield from response.iter_raw(_CHUNK_BYTES)
        return
    if encoding not in _ZLIB_WBITS:
        yield from response.iter_bytes(_CHUNK_BYTES)
        return
    inflater = zlib.decompressobj(_ZLIB_WBITS[encoding])
    for raw in response.iter_raw(_CHUNK_BYTES):
        data = raw
        while data:
            yield inflater.decompress(data, _CHUNK_BYTES)
            data = inflater.unconsumed_tail


class VendorHttp:
    """An httpx client bound to one vendor's base URL and credentials, with retries.

    Counts calls and retries, so assets can report them."""

    def __init__(self, vendor: str, base_url: str, *, auth: httpx.Auth | None = None,
                 headers: Mapping[str, str] | None = None, timeouts: Timeouts = Timeouts(),
                 retry: RetryPolicy = RetryPolicy(), check_body: BodyCheck | None = None,
                 check_error: ErrorCheck | None = None, rate: RequestRate | None = None,
                 concurrency: ConcurrencyLimit | None = None,
                 transport: httpx.BaseTransport | None = None,
                 max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.vendor = vendor
        self.base_url = httpx.URL(base_url)
        if not _encrypted_or_local(self.base_url):
            # Credentials and personal data never cross a network in clear.
            raise VendorError(vendor, "configuration", None,
                              f"refused to call {self.base_url.scheme}://{self.base_url.host}: a vendor "
                              "origin must use https (only a loopback address may use http)")
        self.retry = retry
        self._check_body = check_body
        self._check_error = check_error
        self._rate = rate
        self._concurrency = concurrency
        self._counting = threading.Lock()  # one layer may serve several threads
        self._timeouts = timeouts
        self._max_body_bytes = max_body_bytes
        self._client = httpx.Client(base_url=base_url, auth=auth, headers=headers,
                                    timeout=timeouts.as_httpx(), transport=transport)
        self.calls = 0
        self.retries = 0

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> "VendorHttp":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def same_origin(self, url: httpx.URL) -> bool:
        base = self.base_url
        return (url.scheme, url.host, url.port) == (base.scheme, base.host, base.port)

    def request_json(self, method: str, url: str | httpx.URL, *, endpoint: str,
                     params: Mapping[str, Any] | None = None, json: Any = None,
                     idempotent: bool = True) -> Any:
        """Send one request, retrying transient failures; return the decoded JSON body.

        A request that is not `idempotent` (one that acts, like posting an event) is retried
        only when the vendor certainly did not act on it: it answered with a "later" status or
        code, or the connection never opened. When it may have acted (the connection broke
        after the request left, the answer was cut or late), InDoubtError is raised at once."""
        target = self._client.base_url.join(url) if isinstance(url, str) else url
        if not self.same_origin(target):
            raise VendorError(self.vendor, endpoint, None,
                              f"refused to call another origin ({target.scheme}://{target.host})")
        retrying = Retrying(
            retry=retry_if_exception(_is_transient),
            stop=stop_after_attempt(self.retry.max_attempts) | stop_after_delay(self.retry.max_elapsed_s),
            wait=self._wait,
            before_sleep=self._count_retry,
            reraise=True,
        )
        return retrying(self._send, method, target, endpoint, params, json, idempotent)

    def _send(self, method: str, url: httpx.URL, endpoint: str,
              params: Mapping[str, Any] | None, json: Any, idempotent: bool = True) -> Any:
        """One attempt, within the vendor's request budget and concurrency limit; a throttled
        answer narrows the limit, slow good ones widen it."""
        rate, concurrency = self._rate, self._concurrency
        # The budget's turn is taken last, just before the request leaves: taken before waiting
        # for a slot, requests paced apart would bunch up behind the slots and reach the vendor
        # closer together than the budget spaced them.
        with concurrency.slot() if concurrency is not None else nullcontext():
            if rate is not None:
                rate.acquire()
            started = time.monotonic()
            try:
                body = self._exchange(method, url, endpoint, params, json, idempotent)
            except TransientVendorError as error:
                if error.throttled:
                    if rate is not None:
                        rate.throttled()
                    if concurrency is not None:
                        concurrency.throttled()
                raise
        if rate is not None:
            rate.accepted()
        if concurrency is not None:
            concurrency.succeeded(time.monotonic() - started)
        return body

    def _exchange(self, method: str, url: httpx.URL, endpoint: str,
                  params: Mapping[str, Any] | None, json: Any, idempotent: bool) -> Any:
        with self._counting:
            self.calls += 1
        started = time.monotonic()
        try:
            with self._client.stream(method, url, params=params, json=json) as response:
                content = self._read_body(response, endpoint, started)
        except _UNSENT as error:
            raise TransientVendorError(self.vendor, endpoint, None, type(error).__name__) from None
        except (httpx.TransportError, zlib.error) as error:
            if not idempotent:
                raise InDoubtError(self.vendor, endpoint, None,
                                   f"{type(error).__name__}: the vendor may have acted") from None
            raise TransientVendorError(self.vendor, endpoint, None, type(error).__name__) from None
        except TransientVendorError as error:  # an answer cut short by the overall deadline
            if not idempotent:
                raise InDoubtError(self.vendor, endpoint, error.status,
                                   f"{error.detail}: the vendor may have acted") from None
            raise
        if response.status_code == 504 and not idempotent:  # the gateway gave up; the vendor may not have
            raise InDoubtError(self.vendor, endpoint, 504, "gateway timeout: the vendor may have acted")
        if response.status_code in TRANSIENT_STATUSES:
            # A vendor that answers its own errors under any status (Webex: 200 or 500, as the
            # tenant is configured) may say in the body that this one is final.
            if self._check_error is not None:
                self._check_error(endpoint, response.status_code, _json_or_none(content))
            raise TransientVendorError(
                self.vendor, endpoint, response.status_code, response.reason_phrase,
                retry_after=parse_retry_after(response.headers.get("Retry-After"),
                                              self.retry.retry_after_cap_s))
        try:
            body = orjson.loads(content) if content else None
        except orjson.JSONDecodeError:
            if response.is_success and not idempotent:
                raise InDoubtError(self.vendor, endpoint, response.status_code,
                                   "success answer is not valid JSON: the vendor may have acted") from None
            if response.is_success:
                # A cut-off body is usually the connection's fault, not the request's.
                raise TransientVendorError(self.vendor, endpoint, response.status_code,
                                           "response body is not valid JSON") from None
            body = None
        if not response.is_success:
            if self._check_error is not None:
                self._check_error(endpoint, response.status_code, body)
            raise VendorError(self.vendor, endpoint, response.status_code,
                              _describe_error(response, body))
        if self._check_body is not None:
            self._check_body(endpoint, body)
        return body

    def _read_body(self, response: httpx.Response, endpoint: str, started: float) -> bytes:
        """The decoded body, read within the byte cap and the request's overall deadline."""
        chunks: list[bytes] = []
        size = 0
        for chunk in _decoded_chunks(response):
            size += len(chunk)
            if size > self._max_body_bytes:
                raise BodyTooLarge(self.vendor, endpoint, response.status_code,
                                   f"answer over {self._max_body_bytes} bytes decoded; refused")
            if time.monotonic() - started > self._timeouts.total_s:
                raise TransientVendorError(self.vendor, endpoint, response.status_code,
                                           f"answer not complete within {self._timeouts.total_s:.0f} s")
            chunks.append(chunk)
        return b"".join(chunks)

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        backoff = min(self.retry.max_backoff_s,
                      self.retry.initial_backoff_s * 2 ** (state.attempt_number - 1))
        jittered = random.uniform(0, backoff)
        retry_after = getattr(error, "retry_after", None)
        return max(jittered, retry_after) if retry_after is not None else jittered

    def _count_retry(self, state: RetryCallState) -> None:
        with self._counting:
            self.retries += 1


def _json_or_none(content: bytes) -> Any:
    try:
        return orjson.loads(content) if content else None
    except orjson.JSONDecodeError:
        return None


def _encrypted_or_local(url: httpx.URL) -> bool:
    """https anywhere; plain http only to this machine (the local sandbox, a test's server)."""
    if url.scheme == "https":
        return True
    if url.scheme != "http":
        return False
    if url.host == "localhost":
        return True
    try:
        return ipaddress.ip_address(url.host).is_loopback
    except ValueError:
        return False


def _describe_error(response: httpx.Response, body: Any) -> str:
    """A short, credential-free description of an error response."""
    if response.status_code in (401, 403):
        return "authentication failed (check the configured credentials)"
    if isinstance(body, Mapping):
        for key in ("message", "description", "status", "generalErrors"):
            if key in body:
                return vendor_text(body[key])
        meta = body.get("meta")
        if isinstance(meta, Mapping) and meta.get("generalErrors"):
            return vendor_text(meta["generalErrors"])
    return response.reason_phrase or "error"
