import gzip
import json
import time
import zlib
from datetime import datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
import time_machine

from pipelines.model import clock
from pipelines.transport.http import (
    BodyTooLarge,
    InDoubtError,
    RetryPolicy,
    Timeouts,
    TransientVendorError,
    VendorError,
    VendorHttp,
    parse_retry_after,
)

FAST = RetryPolicy(max_attempts=4, initial_backoff_s=0.001, max_backoff_s=0.002, retry_after_cap_s=0.05)


def vendor(handler, retry: RetryPolicy = FAST, **kwargs) -> VendorHttp:
    return VendorHttp("acme", "https://api.acme.test", retry=retry,
                      transport=httpx.MockTransport(handler), **kwargs)


def test_retry_after_in_seconds_and_as_http_date_is_capped(instant: datetime) -> None:
    assert parse_retry_after("3", cap_s=60) == 3
    assert parse_retry_after("600", cap_s=60) == 60
    with time_machine.travel(instant, tick=False):  # the date is read at a known instant
        in_ten = format_datetime(clock.now() + timedelta(seconds=10), usegmt=True)
        assert parse_retry_after(in_ten, cap_s=60) == 10
    assert parse_retry_after("soon", cap_s=60) is None
    assert parse_retry_after(None, cap_s=60) is None


def test_transient_statuses_are_retried_until_success() -> None:
    answers = iter([httpx.Response(503), httpx.Response(429, headers={"Retry-After": "0"}),
                    httpx.Response(200, json={"ok": True})])
    http = vendor(lambda request: next(answers))
    assert http.request_json("GET", "/things", endpoint="GET /things") == {"ok": True}
    assert (http.calls, http.retries) == (3, 2)


def test_connection_errors_are_retried() -> None:
    attempts = []

    def flaky(request: httpx.Request) -> httpx.Response:
        attempts.append(request)
        if len(attempts) == 1:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, json=[1])

    assert vendor(flaky).request_json("GET", "/x", endpoint="GET /x") == [1]


def test_giving_up_names_vendor_endpoint_and_status_never_credentials() -> None:
    http = vendor(lambda request: httpx.Response(502), auth=httpx.BasicAuth("user", "hunter2-secret"))
    with pytest.raises(TransientVendorError) as failure:
        http.request_json("GET", "/x", endpoint="GET /x")
    message = str(failure.value)
    assert "acme" in message and "GET /x" in message and "502" in message
    assert "hunter2-secret" not in message and "user" not in message
    assert http.calls == FAST.max_attempts


def test_client_errors_fail_at_once_with_a_readable_reason() -> None:
    http = vendor(lambda request: httpx.Response(401, json={"message": "bad token"}))
    with pytest.raises(VendorError, match="authentication failed") as failure:
        http.request_json("GET", "/x", endpoint="GET /x")
    assert not isinstance(failure.value, TransientVendorError)
    assert http.calls == 1


def test_truncated_json_is_treated_as_transient() -> None:
    answers = iter([httpx.Response(200, content=b'{"data": [1, 2'), httpx.Response(200, json={"data": []})])
    assert vendor(lambda request: next(answers)).request_json("GET", "/x", endpoint="e") == {"data": []}


def test_body_checks_turn_200_errors_into_failures() -> None:
    def check(endpoint: str, body: object) -> None:
        if isinstance(body, dict) and body.get("code") == 1002:
            raise VendorError("acme", endpoint, 200, body["description"])

    http = vendor(lambda request: httpx.Response(200, json={"code": 1002, "description": "key missing"}),
                  check_body=check)
    with pytest.raises(VendorError, match="key missing"):
        http.request_json("GET", "/x", endpoint="GET /x")


def test_other_origins_are_refused_before_any_request() -> None:
    seen = []
    http = vendor(lambda request: seen.append(request) or httpx.Response(200, json={}))
    with pytest.raises(VendorError, match="another origin"):
        http.request_json("GET", "https://evil.test/steal", endpoint="GET /x")
    assert seen == []


def streamed(body: bytes, headers: dict[str, str] | None = None, pause_s: float = 0.0):
    """A handler whose answer arrives as a stream, in 64 KB pieces (as from a socket)."""
    class Pieces(httpx.SyncByteStream):
        def __iter__(self):
            for start in range(0, len(body), 65_536):
                time.sleep(pause_s)
                yield body[start:start + 65_536]

    return lambda request: httpx.Response(200, headers=headers or {}, stream=Pieces())


def test_a_gzip_bomb_is_refused_while_inflating_and_not_retried() -> None:
    bomb = gzip.compress(b'{"items": "' + b" " * 80_000_000 + b'"}')  # 80 MB from ~80 KB
    http = vendor(streamed(bomb, {"Content-Encoding": "gzip"}), max_body_bytes=1_000_000)
    with pytest.raises(BodyTooLarge, match="over 1000000 bytes decoded"):
        http.request_json("GET", "/things", endpoint="GET /things")
    assert (http.calls, http.retries) == (1, 0)


def test_compressed_and_plain_answers_read_whole_within_the_cap() -> None:
    body = json.dumps({"items": list(range(50_000))}).encode()
    for encoding, data in (("gzip", gzip.compress(body)), ("deflate", zlib.compress(body)), ("identity", body)):
        http = vendor(streamed(data, {"Content-Encoding": encoding}))
        assert http.request_json("GET", "/things", endpoint="GET /things") == {"items": list(range(50_000))}


def test_an_answer_that_drips_past_the_overall_deadline_is_a_transient_failure() -> None:
    # Each piece comes well within a read timeout, but the whole answer takes longer than allowed.
    http = vendor(streamed(b"[" + b" " * 300_000 + b"]", pause_s=0.02),
                  timeouts=Timeouts(total_s=0.01), retry=RetryPolicy(max_attempts=2, initial_backoff_s=0.001))
    with pytest.raises(TransientVendorError, match="not complete within"):
        http.request_json("GET", "/things", endpoint="GET /things")
    assert http.calls == 2  # retried once, as a slow vendor would be


def test_vendor_error_text_is_short_and_masks_personal_data() -> None:
    body = {"message": "Number +1 (415) 555-0100 and asha.kulkarni@example.in rejected: " + "x" * 400}
    http = vendor(lambda request: httpx.Response(400, json=body))
    with pytest.raises(VendorError) as error:
        http.request_json("GET", "/things", endpoint="GET /things")
    message = str(error.value)
    assert "555-0100" not in message and "example.in" not in message and "<redacted>" in message
    assert len(error.value.detail) <= 160


@pytest.mark.parametrize(("origin", "allowed"), [
    ("https://api.acme.test", True), ("http://127.0.0.1:8080", True), ("http://localhost:9", True),
    ("http://[::1]:8080", True), ("http://api.acme.test", False), ("http://10.0.0.7", False),
    ("ftp://api.acme.test", False)])
def test_a_vendor_origin_must_be_https_unless_it_is_this_machine(origin: str, allowed: bool) -> None:
    if allowed:
        VendorHttp("acme", origin).close()
    else:
        with pytest.raises(VendorError, match="must use https"):
            VendorHttp("acme", origin)


# A request that acts (posting an event) is sent again only when the vendor surely did not act.
def test_an_acting_request_is_retried_only_when_the_vendor_surely_did_not_act() -> None:
    answers = iter([httpx.Response(429, headers={"Retry-After": "0"}), httpx.Response(500),
                    httpx.Response(502), httpx.Response(200, json={"ok": True})])
    attempts = []

    def handler(request: httpx.Request) -> httpx.Response:
        attempts.append(request)
        if len(attempts) == 1:
            raise httpx.ConnectError("refused", request=request)  # never left this machine
        return next(answers)

    http = vendor(handler, retry=RetryPolicy(max_attempts=6, initial_backoff_s=0.001, max_backoff_s=0.002))
    assert http.request_json("POST", "/events", endpoint="POST /events", json={}, idempotent=False) == {"ok": True}
    assert http.calls == 5


@pytest.mark.parametrize("answer", [
    httpx.ReadTimeout("read timed out"),                 # sent; no answer in time
    httpx.RemoteProtocolError("peer closed connection"), # sent; the connection broke
    httpx.Response(200, content=b'{"code": 10'),         # answered, but the answer was cut
    httpx.Response(504),                                 # a gateway gave up waiting for the vendor
], ids=["read-timeout", "connection-broke", "cut-answer", "gateway-timeout"])
def test_an_acting_request_that_may_have_acted_is_in_doubt_and_never_sent_again(answer) -> None:
    attempts = []

    def handler(request: httpx.Request) -> httpx.Response:
        attempts.append(request)
        if isinstance(answer, Exception):
            raise answer
        return answer

    http = vendor(handler)
    with pytest.raises(InDoubtError, match="may have acted"):
        http.request_json("POST", "/events", endpoint="POST /events", json={}, idempotent=False)
    assert len(attempts) == 1
    # The same failure of a request that only reads is retried, as before.
    with pytest.raises(TransientVendorError):
        vendor(handler).request_json("GET", "/things", endpoint="GET /things")
    assert len(attempts) == 1 + FAST.max_attempts
