"""The sandbox's HTTP server: real sockets, HTTP/1.1 keep-alive, one thread per connection.

Vendors register routes on a Router. Every request passes through `SandboxApp.handle`, the
one seam where fault injection wraps the vendors' answers."""

import gzip
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from functools import cache
from hashlib import blake2b
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

import orjson

from sandbox.config import SandboxConfig
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

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        self._routes.append((method, re.compile(pattern), handler))

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


class SandboxApp:
    """The vendors plus the control endpoints, independent of the socket server."""

    def __init__(self, config: SandboxConfig) -> None:
        from sandbox.vendors import cinnox, mgage, senderguide, webex

        self.config = config
        self.state = SandboxState(FaultPlan(config.faults))
        self.router = Router()
        mgage.MgageApi(config, self.state).register(self.router)
        senderguide.SenderGuideApi(config, self.state).register(self.router)
        cinnox.CinnoxApi(config, self.state).register(self.router)
        self.webex = webex.WebexApi(config, self.state)
        self.webex.register(self.router)
        self.router.add("GET", "/_sandbox/health", lambda request, match: json_response(200, {"ok": True}))
        self.router.add("GET", "/_sandbox/state", self._describe)
        self.router.add("POST", "/_sandbox/advance", self._advance)
        self.router.add("GET", "/_sandbox/faults", lambda request, match: json_response(
            200, {"injected": self.state.faults.injected}))

    def handle(self, request: Request) -> Response:
        """Every request: the vendor's answer, unless a transport fault takes its place."""
        self.state.count_request()
        if request.path.startswith("/_sandbox/"):
            return self.router.dispatch(request)
        faults = self.state.faults
        fingerprint = _fingerprint(request)
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
