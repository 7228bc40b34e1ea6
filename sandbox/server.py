"""The sandbox's HTTP server: real sockets, HTTP/1.1 keep-alive, one thread per connection.

Vendors register routes on a Router, each under its vendor's name. Every request passes
through `SandboxApp.handle`, the one seam where the network (`SandboxConfig.network`) and
fault injection wrap the vendors' answers: a vendor request over its credential's limits
(concurrent, per second) is answered at once with 429 and Retry-After; one within them holds
its slot while it waits the vendor's latency, then gets the vendor's answer or a transport
fault (a "slow" fault waits on top). `/_sandbox/...` control endpoints get neither.
`SandboxApp.network_stats()` counts, per vendor, answered and throttled requests and the
most answered at once. A vendor set to replay its answers makes each successful GET answer
once and serves it again from memory."""

import gzip
import math
import re
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from email.message import Message
from functools import cache
from hashlib import blake2b
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

import orjson

from pipelines.model import clock
from sandbox.config import SandboxConfig, VendorNetwork
from sandbox.data import Draw
from sandbox.faults import FaultPlan

if TYPE_CHECKING:
    from sandbox.vendors.webex import ReceivedEvent


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: Message
    body: bytes
    origin: str  # scheme://host:port as the client addressed us, for absolute URLs

    def json(self) -> Any:
        return orjson.loads(self.body) if self.body else None


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    # Close the connection after this many bytes of the body (a fault).
    drop_after: int | None = None
    # Close the connection without answering at all: a request the vendor processed whose
    # answer the network lost.
    abort: bool = False


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status, orjson.dumps(payload),
                    {"Content-Type": "application/json", **(headers or {})})


Handler = Callable[[Request, re.Match[str]], Response]


class Router:
    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._vendors: list[tuple[re.Pattern[str], str]] = []
        self._registering: str | None = None

    @contextmanager
    def vendor(self, name: str) -> Iterator["Router"]:
        """Routes added inside the block are that vendor's (its network settings apply)."""
        self._registering = name
        try:
            yield self
        finally:
            self._registering = None

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        compiled = re.compile(pattern)
        self._routes.append((method, compiled, handler))
        if self._registering is not None:
            self._vendors.append((compiled, self._registering))

    def vendors(self) -> set[str]:
        return {vendor for _, vendor in self._vendors}

    def vendor_of(self, path: str) -> str | None:
        """The vendor whose route the path is (whatever the method), or None."""
        for pattern, vendor in self._vendors:
            if pattern.fullmatch(path):
                return vendor
        return None

    def dispatch(self, request: Request) -> Response:
        allowed = False
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(request.path)
            if match:
                if method == request.method:
                    return handler(request, match)
                allowed = True
        if allowed:
            return json_response(405, {"code": 405, "message": "method not supported"})
        return json_response(404, {"code": 404, "message": f"no such endpoint: {request.path}"})


class SandboxState:
    """What changes while the sandbox runs: the status generation (statuses move forward when
    it advances) and request counters."""

    def __init__(self, faults: FaultPlan | None = None) -> None:
        self._lock = threading.Lock()
        self.generation = 0
        self.requests = 0
        self.faults = faults or FaultPlan(SandboxConfig().faults)

    def advance(self) -> int:
        with self._lock:
            self.generation += 1
            return self.generation

    def count_request(self) -> None:
        with self._lock:
            self.requests += 1


@dataclass
class NetworkStats:
    """One vendor's traffic: requests answered within limits, 429s from the limits, and the
    most requests answered at once (over all its credentials)."""

    requests: int = 0
    throttled: int = 0
    peak_concurrent: int = 0


def latency_s(seed: int, vendor: str, settings: VendorNetwork, fingerprint: str, attempt: int) -> float:
    """The delay before answering this attempt (0, 1, ...) of a request: the fixed part plus
    the seeded random part, so the same request seen the same number of times waits the same."""
    jitter = 0.0
    if settings.jitter_ms > 0:
        jitter = Draw(seed, "latency", vendor, fingerprint, attempt).unit(0) * settings.jitter_ms
    return (settings.latency_ms + jitter) / 1000


class _Limiter:
    """One credential's use of one vendor."""

    __slots__ = ("accepted", "active")

    def __init__(self) -> None:
        self.active = 0
        self.accepted: deque[float] = deque()  # clock() of accepted requests still in the window


class Network:
    """Latency and per-credential limits of the vendors, as `SandboxConfig.network` sets them.

    Only accepted requests count, as real vendors count them: a throttled request neither
    holds a concurrency slot nor uses the per-second budget, so a client that backs off is not
    punished for the 429s it got."""

    def __init__(self, seed: int, settings: dict[str, VendorNetwork]) -> None:
        self.seed = seed
        self.settings = settings
        # The monotonic clock the per-second windows are measured on (tests may replace it).
        self.clock: Callable[[], float] = time.monotonic
        self._lock = threading.Lock()
        self._limiters: dict[tuple[str, str], _Limiter] = {}
        self._active: dict[str, int] = {}
        self._stats: dict[str, NetworkStats] = {}
        self._seen: dict[tuple[str, str], int] = {}

    def admit(self, vendor: str, credential: str) -> int | None:
        """None when the request is accepted (release it when answered), else the seconds a
        Retry-After should say."""
        settings = self.settings.get(vendor)
        with self._lock:
            stats = self._stats.setdefault(vendor, NetworkStats())
            limiter = None
            if settings and (settings.max_concurrent > 0 or settings.max_per_second > 0):
                limiter = self._limiters.setdefault((vendor, credential), _Limiter())
                retry_after = self._over_limits(settings, limiter)
                if retry_after is not None:
                    stats.throttled += 1
                    return retry_after
                limiter.active += 1
                if settings.max_per_second > 0:
                    limiter.accepted.append(self.clock())
            active = self._active.get(vendor, 0) + 1
            self._active[vendor] = active
            stats.requests += 1
            stats.peak_concurrent = max(stats.peak_concurrent, active)
            return None

    def _over_limits(self, settings: VendorNetwork, limiter: _Limiter) -> int | None:
        if settings.max_concurrent > 0 and limiter.active >= settings.max_concurrent:
            return 1  # a slot frees when an answer goes out: about now
        if settings.max_per_second > 0:
            size = max(1, math.floor(settings.max_per_second))
            window = size / settings.max_per_second
            now = self.clock()
            while limiter.accepted and limiter.accepted[0] <= now - window:
                limiter.accepted.popleft()
            if len(limiter.accepted) >= size:
                return max(1, math.ceil(limiter.accepted[0] + window - now))
        return None

    def release(self, vendor: str, credential: str) -> None:
        with self._lock:
            self._active[vendor] -= 1
            limiter = self._limiters.get((vendor, credential))
            if limiter is not None:
                limiter.active -= 1

    def delay_s(self, vendor: str, fingerprint: str) -> float:
        """The latency of this attempt of the request (and it counts as seen)."""
        settings = self.settings.get(vendor)
        if settings is None or (settings.latency_ms <= 0 and settings.jitter_ms <= 0):
            return 0.0
        attempt = 0
        if settings.jitter_ms > 0:
            with self._lock:
                attempt = self._seen.get((vendor, fingerprint), 0)
                self._seen[(vendor, fingerprint)] = attempt + 1
        return latency_s(self.seed, vendor, settings, fingerprint, attempt)

    def stats(self) -> dict[str, NetworkStats]:
        with self._lock:
            return {vendor: NetworkStats(**vars(stats)) for vendor, stats in self._stats.items()}


# A 429 from the limits, in each vendor's own error shape.
_THROTTLED_BODIES: dict[str, Any] = {
    "mgage": {"meta": {"generalErrors": ["Too many requests"], "nextPageUrl": None}, "data": None},
    "senderguide": {"result": "error", "status": "Too many requests", "code": 429},
    "cinnox": {"code": 429, "message": "Too many requests"},
    "webex": {"code": 429, "description": "Too many requests. Throttle limit reached for the time window."},
}


def _credential(request: Request) -> str:
    """Who calls, as every vendor here identifies its caller: the Authorization header (mGage's
    basic user and password, the others' bearer token), hashed so no secret is kept. Requests
    without one share one limiter."""
    header = (request.headers.get("Authorization") or "").strip()
    return blake2b(header.encode(), digest_size=16).hexdigest()


class SandboxApp:
    """The vendors plus the control endpoints, independent of the socket server."""

    def __init__(self, config: SandboxConfig) -> None:
        from sandbox.vendors import cinnox, mgage, senderguide, webex

        self.config = config
        self.state = SandboxState(FaultPlan(config.faults))
        self.router = Router()
        with self.router.vendor("mgage"):
            mgage.MgageApi(config, self.state).register(self.router)
        with self.router.vendor("senderguide"):
            senderguide.SenderGuideApi(config, self.state).register(self.router)
        with self.router.vendor("cinnox"):
            cinnox.CinnoxApi(config, self.state).register(self.router)
        self.webex = webex.WebexApi(config, self.state)
        with self.router.vendor("webex"):
            self.webex.register(self.router)
        unknown = set(config.network) - self.router.vendors()
        if unknown:
            raise ValueError(f"network settings for unknown vendors {sorted(unknown)}, "
                             f"expected some of {', '.join(sorted(self.router.vendors()))}")
        self.network = Network(config.seed, config.network)
        replaying = sorted(vendor for vendor, network in config.network.items() if network.replay_answers)
        if replaying and any(rate > 0 for rate in config.faults.rates.values()):
            raise ValueError(f"{', '.join(replaying)}: answers are replayed only without faults, "
                             "whose answers differ from one attempt to the next")
        self._replays: dict[tuple, Response] = {}
        self._replays_lock = threading.Lock()
        self.router.add("GET", "/_sandbox/health", lambda request, match: json_response(200, {"ok": True}))
        self.router.add("GET", "/_sandbox/state", self._describe)
        self.router.add("POST", "/_sandbox/advance", self._advance)
        self.router.add("GET", "/_sandbox/faults", lambda request, match: json_response(
            200, {"injected": self.state.faults.injected}))

    def handle(self, request: Request) -> Response:
        """Every request: 429 over the vendor's limits; else, after the vendor's latency, the
        vendor's answer, unless a transport fault takes its place."""
        self.state.count_request()
        if request.path.startswith("/_sandbox/"):
            return self.router.dispatch(request)
        fingerprint = _fingerprint(request)
        vendor = self.router.vendor_of(request.path)
        if vendor is None:  # no such endpoint: answered as before, outside any vendor's limits
            return self._answer(request, fingerprint)
        credential = _credential(request)
        retry_after = self.network.admit(vendor, credential)
        if retry_after is not None:
            return json_response(429, _THROTTLED_BODIES[vendor], {"Retry-After": str(retry_after)})
        try:
            delay = self.network.delay_s(vendor, fingerprint)
            if delay > 0:
                time.sleep(delay)
            network = self.config.network.get(vendor)
            if request.method == "GET" and network is not None and network.replay_answers:
                return self._replayed(request, fingerprint, credential)
            return self._answer(request, fingerprint)
        finally:
            self.network.release(vendor, credential)

    def network_stats(self) -> dict[str, NetworkStats]:
        """Per vendor that was called: requests answered within limits, 429s from the limits,
        and the most answered at once (a copy: thread-safe)."""
        return self.network.stats()

    def _replayed(self, request: Request, fingerprint: str, credential: str) -> Response:
        """The answer made the first time this request was asked, under the same credential,
        generation and day (a successful one; others are made again)."""
        key = (fingerprint, credential, request.origin, self.state.generation, clock.today())
        with self._replays_lock:
            answer = self._replays.get(key)
        if answer is None:
            answer = self._answer(request, fingerprint)
            if answer.status != 200:
                return answer
            with self._replays_lock:
                self._replays[key] = answer
        return replace(answer, headers=dict(answer.headers))

    def _answer(self, request: Request, fingerprint: str) -> Response:
        """The vendor's answer, unless a transport fault takes its place."""
        faults = self.state.faults
        fault = faults.transport_fault(fingerprint)
        if fault == "throttle":
            return json_response(429, {"code": 429, "message": "Too many requests"},
                                 {"Retry-After": faults.retry_after(fingerprint)})
        if fault == "server_error":
            status = Draw(faults.settings.seed, "status", fingerprint).choice(0, (500, 502, 503))
            return json_response(status, {"code": status, "message": "Internal server error"})
        if fault == "bomb":
            return Response(200, gzip_bomb(), {"Content-Type": "application/json",
                                               "Content-Encoding": "gzip"})
        if fault == "slow":
            time.sleep(faults.settings.slow_s)
        response = self.router.dispatch(request)
        if fault == "truncate":
            response.body = response.body[: max(1, len(response.body) // 2)]
        elif fault == "drop":
            response.drop_after = len(response.body) // 2
        return response

    def webex_events(self) -> "list[ReceivedEvent]":
        """The events the Webex event API accepted, in the order received (for tests)."""
        return self.webex.received_events()

    def _describe(self, request: Request, match: re.Match[str]) -> Response:
        return json_response(200, {"generation": self.state.generation, "requests": self.state.requests})

    def _advance(self, request: Request, match: re.Match[str]) -> Response:
        return json_response(200, {"generation": self.state.advance()})


@cache
def gzip_bomb() -> bytes:
    """About 100 KB of gzip that inflates to 100 MB of valid JSON."""
    return gzip.compress(b'{"data": "' + b" " * 100_000_000 + b'"}', compresslevel=9)


def _fingerprint(request: Request) -> str:
    """The same request asked again (a retry) has the same fingerprint."""
    query = "&".join(f"{key}={value}" for key, value in sorted(request.query.items()))
    body = blake2b(request.body, digest_size=8).hexdigest()
    return f"{request.method} {request.path}?{query} {body}"


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle's algorithm and the client's
    # delayed ACK, every keep-alive response would stall ~40 ms.
    disable_nagle_algorithm = True
    server: "_Server"

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        host = self.headers.get("Host") or f"{self.server.server_address[0]}:{self.server.server_address[1]}"
        request = Request(self.command, parts.path, dict(parse_qsl(parts.query, keep_blank_values=True)),
                          self.headers, body, f"http://{host}")
        response = self.server.app.handle(request)
        if response.abort:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if response.drop_after is not None:
            self.wfile.write(response.body[: response.drop_after])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the pipeline logs its calls
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # The listen backlog (5 by default): a client opening many connections at once (concurrent
    # pages) must not have its connection attempts dropped and retried a second later.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: SandboxApp) -> None:
        super().__init__(address, _RequestHandler)
        self.app = app

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (a timeout, a fault) is not the sandbox's error."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextmanager
def serve_in_thread(config: SandboxConfig, host: str = "127.0.0.1", port: int = 0) -> Iterator[tuple[str, SandboxApp]]:
    """Serve in a background thread of this process; yields (base URL, app)."""
    app = SandboxApp(config)
    server = _Server((host, port), app)
    thread = threading.Thread(target=server.serve_forever, name="sandbox", daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}", app
    finally:
        server.shutdown()
        server.server_close()


def serve_forever(config: SandboxConfig, host: str = "127.0.0.1", port: int = 0,
                  on_ready: Callable[[str], None] = print) -> None:
    """Serve in this thread until interrupted; reports the base URL through `on_ready`."""
    server = _Server((host, port), SandboxApp(config))
    on_ready(f"http://{host}:{server.server_address[1]}")
    try:
        server.serve_forever()
    finally:
        server.server_close()
