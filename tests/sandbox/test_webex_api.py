"""The Webex Campaign sandbox over real HTTP: auth, {code, description} errors under HTTP 200,
the last-N-of-window behaviour (busy days cut at 50), bare array or wrapped answer per key,
channels per kind of key, preview URLs, every documented status, statuses moving forward,
DST days, determinism, and the event API."""

from collections.abc import Iterator
from datetime import date, datetime, timedelta

import httpx
import pytest

from sandbox.config import SandboxConfig, WebexSandbox
from sandbox.server import SandboxApp, SandboxState, serve_in_thread
from sandbox.vendors.webex import (
    EVENTS_PATHS,
    MAX_COUNT,
    TRANSACTION_STATUSES,
    TRANSACTIONS_PATHS,
    WebexApi,
    channels_for,
    statuses_by_channel,
)

PATH = "/campaignapi/resources/v3/customertransactions"
EVENTS = "/campaignapi/resources/v3/events"
BUSY = "919900000001"
DAY = date(2026, 11, 3)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, SandboxApp]]:
    with serve_in_thread(SandboxConfig()) as (url, app):
        yield url, app


def connect(url: str, app: SandboxApp) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {app.config.webex.api_key}"}, timeout=10)


@pytest.fixture(scope="module")
def client(served: tuple[str, SandboxApp]) -> Iterator[httpx.Client]:
    with connect(*served) as client:
        yield client


@pytest.fixture(scope="module")
def api(served: tuple[str, SandboxApp]) -> WebexApi:
    return WebexApi(served[1].config, served[1].state)


def fetch(client: httpx.Client, key: str, first: date, last: date, count: int = MAX_COUNT,
          path: str = PATH, **extra: str) -> list[dict]:
    """The answer for the tenant-local days first..last: to-date is the day after `last`, as the
    sandbox reads it exclusively by default (documented mode)."""
    to_date = last + timedelta(days=1)
    response = client.get(path, params={"key": key, "count": count, "from-date": first.isoformat(),
                                        "to-date": to_date.isoformat(), "message_preview": "true", **extra})
    assert response.status_code == 200
    body = response.json()
    return body["transactions"] if isinstance(body, dict) else body


def window(api: WebexApi, key: str, first: date, last: date) -> list[dict]:
    rows: list[dict] = []
    while first <= last:
        rows += api.transactions(key, first)
        first += timedelta(days=1)
    return rows


def test_auth_and_error_shapes(served: tuple[str, SandboxApp], client: httpx.Client) -> None:
    url, _ = served
    for path in TRANSACTIONS_PATHS:
        response = httpx.get(url + path, params={"key": BUSY}, headers={"Authorization": "Bearer nope"})
        assert response.status_code == 401 and response.json()["code"] == 430
    cases = [
        ({"count": "5"}, 1002),
        ({"key": BUSY, "count": "51"}, 1001),
        ({"key": BUSY, "count": "many"}, 1001),
        ({"key": BUSY, "from-date": "2026-11-31"}, 1001),
        ({"key": BUSY, "from-date": "03-11-2026"}, 1001),
        ({"key": BUSY, "from-date": "2026-11-05", "to-date": "2026-11-04"}, 1001),
        ({"key": BUSY, "channel": "FAX"}, 1001),
    ]
    for params, code in cases:
        response = client.get(PATH, params=params)
        assert response.status_code == 200, params  # errors under HTTP 200
        assert set(response.json()) == {"code", "description"} and response.json()["code"] == code, params


def test_busy_day_returns_the_last_50_ascending(client: httpx.Client, api: WebexApi) -> None:
    held = api.transactions(BUSY, DAY)
    assert len(held) > MAX_COUNT
    for path in TRANSACTIONS_PATHS:  # the legacy prefix answers the same
        got = fetch(client, BUSY, DAY, DAY, path=path)
        assert got == held[-MAX_COUNT:]
    got = fetch(client, BUSY, DAY, DAY, count=7)
    assert got == held[-7:]
    dates = [row["deployment-date"] for row in got]
    assert dates == sorted(dates)


def test_window_is_the_days_asked_and_cut_to_its_latest(client: httpx.Client, api: WebexApi) -> None:
    key = "919812345670"
    first, last = date(2026, 10, 1), date(2026, 10, 12)
    held = window(api, key, first, last)
    assert 5 < len(held) < MAX_COUNT
    assert fetch(client, key, first, last, count=5) == held[-5:]
    assert fetch(client, key, first, last) == held
    split = [row for day in range(1, 13) for row in fetch(client, key, date(2026, 10, day), date(2026, 10, day))]
    assert split == held
    assert {row["deployment-date"][:10] for row in split} <= {(first + timedelta(n)).isoformat() for n in range(12)}
    assert len({row["transaction-id"] for row in held}) == len(held)
    long_window = window(api, key, date(2026, 6, 1), last)
    assert len(long_window) > MAX_COUNT
    assert fetch(client, key, date(2026, 6, 1), last) == long_window[-MAX_COUNT:]


def test_bare_array_for_most_keys_object_for_some(served: tuple[str, SandboxApp], client: httpx.Client,
                                                   api: WebexApi) -> None:
    candidates = [f"9198000{n:05d}" for n in range(40)]
    wrapped = next(key for key in candidates if api.wraps_response(key))
    bare = next(key for key in candidates if not api.wraps_response(key))
    params = {"count": "50", "from-date": "2026-10-01", "to-date": "2026-10-31"}
    assert isinstance(client.get(PATH, params={"key": bare, **params}).json(), list)
    body = client.get(PATH, params={"key": wrapped, **params}).json()
    assert isinstance(body, dict) and isinstance(body["transactions"], list)
    assert 0.1 < sum(map(api.wraps_response, candidates)) / len(candidates) < 0.6


def test_channels_follow_the_kind_of_key(client: httpx.Client, api: WebexApi) -> None:
    first, last = date(2026, 9, 1), date(2026, 11, 20)
    for key, allowed in (("busy.shopper@example.com", {"7"}), ("app-7f3a9c21e4b04d8f", {"8"}),
                         (BUSY, {"0", "1", "3", "6"})):
        rows = fetch(client, key, first, last)
        assert rows and {row["channel"] for row in rows} <= allowed, key
    rows = api.transactions(BUSY, DAY)
    assert {"0", "6"} <= {row["channel"] for row in rows}
    ussd = fetch(client, BUSY, DAY - timedelta(days=3), DAY, channel="USSD")
    assert ussd and {row["channel"] for row in ussd} == {"3"}
    assert fetch(client, BUSY, DAY, DAY, channel="EMAIL") == []  # an MSISDN never finds email


def test_fields_preview_urls_and_links(client: httpx.Client) -> None:
    rows = fetch(client, BUSY, DAY, DAY)
    documented = {"campaign-id", "campaign-name", "deployment-id", "deployment-name", "deployment-date",
                  "key", "customer-id", "transaction-status", "error-code", "channel", "description",
                  "transaction-id", "link-transaction-id", "code"}
    for row in rows:
        assert documented <= set(row) <= documented | {"msg_preview_url"}
        datetime.strptime(row["deployment-date"], "%Y-%m-%d %H:%M:%S")
        assert ("msg_preview_url" in row) == (row["channel"] in {"0", "7", "8"})
        if "msg_preview_url" in row:
            assert row["msg_preview_url"].startswith("https://")
    ids = {row["transaction-id"] for row in rows}
    linked = [row for row in rows if row["link-transaction-id"]]
    assert linked and any(row["link-transaction-id"] in ids for row in linked)
    plain = client.get(PATH, params={"key": BUSY, "count": 50, "from-date": DAY.isoformat(),
                                     "to-date": DAY.isoformat()}).json()
    plain = plain["transactions"] if isinstance(plain, dict) else plain
    assert not any("msg_preview_url" in row for row in plain)


def test_status_list_is_the_documented_one() -> None:
    assert len(TRANSACTION_STATUSES) == len(set(TRANSACTION_STATUSES)) == 57
    assert {"Notpushed, Limit reached", "Email,Opened", "EmailSoftbounced", "OBD Failed - Out of Reach",
            "Attempted Send", "Attempted Send successfully Pushed to Gateways", "Landing Page Submit",
            "USSD, DTMF", "Click Transaction"} <= set(TRANSACTION_STATUSES)
    assert set().union(*statuses_by_channel().values()) == set(TRANSACTION_STATUSES)
    by_channel = statuses_by_channel()
    assert all(status.startswith("OBD") is False for status in by_channel[0])
    assert not {s for s in TRANSACTION_STATUSES if s.startswith("Email")} & (by_channel[0] | by_channel[6])


def test_every_status_occurs_in_the_data() -> None:
    keys = [f"91990{n:07d}" for n in range(12)] + [f"user{n}@example.com" for n in range(6)] + \
        [f"app-device-{n:04d}" for n in range(6)]
    config = SandboxConfig(webex=WebexSandbox(busy_keys=keys, busy_daily_transactions=400))
    state = SandboxState()
    api = WebexApi(config, state)
    seen: set[str] = set()
    for generation in (0, 1, 2):
        state.generation = generation
        for key in keys:
            for day in (date(2026, 11, 1), date(2026, 11, 2)):
                seen |= {row["transaction-status"] for row in api.transactions(key, day, preview=False)}
    assert seen == set(TRANSACTION_STATUSES)
    assert channels_for("a@b.example") == (7,) and channels_for("+919812345670") == (0, 1, 3, 6)


def test_statuses_move_forward_with_the_generation() -> None:
    config = SandboxConfig()
    with serve_in_thread(config) as (url, app), connect(url, app) as client:
        before = fetch(client, BUSY, DAY, DAY)
        app.state.advance()
        app.state.advance()
        after = fetch(client, BUSY, DAY, DAY)
    assert [row["transaction-id"] for row in before] == [row["transaction-id"] for row in after]
    changes = {(old["transaction-status"], new["transaction-status"])
               for old, new in zip(before, after, strict=True) if old != new}
    assert ("Attempted Send successfully Pushed to Gateways", "Successfully delivered to the Customer") in changes
    assert all(old in ("Attempted Send", "Attempted Send successfully Pushed to Gateways") for old, _ in changes)


def test_dst_day_in_a_zone_with_dst() -> None:
    config = SandboxConfig(webex=WebexSandbox(timezone="America/New_York", busy_daily_transactions=1000))
    api = WebexApi(config, SandboxState())
    spring = [row["deployment-date"] for row in api.transactions(BUSY, date(2026, 3, 8))]
    assert not any(text[11:13] == "02" for text in spring) and spring == sorted(spring)
    autumn = [row["deployment-date"] for row in api.transactions(BUSY, date(2026, 11, 1))]
    hour = lambda h: sum(text[11:13] == h for text in autumn)  # noqa: E731
    assert hour("01") > 1.6 * hour("05")  # the repeated hour is lived twice
    assert autumn == sorted(autumn)


def test_deterministic_from_the_seed(client: httpx.Client) -> None:
    mine = fetch(client, BUSY, DAY, DAY)
    for seed, same in ((SandboxConfig().seed, True), (3, False)):
        config = SandboxConfig(seed=seed)
        with serve_in_thread(config) as (url, app), connect(url, app) as other:
            assert (fetch(other, BUSY, DAY, DAY) == mine) is same


def test_event_api(served: tuple[str, SandboxApp], client: httpx.Client) -> None:
    url, _ = served
    event = {"event-id": "evt_14296935520105", "event-key": "44839382928",
             "event-params": {"account": "123", "firstname": "joe"}}
    for path in EVENTS_PATHS:
        body = client.post(path, json=event).json()
        assert body["code"] == 1000 and body["transaction-id"] and body["description"]
    assert httpx.post(url + EVENTS, json=event, headers={"Authorization": "Bearer x"}).json()["code"] == 430
    cases = [
        ({"event-key": "44839382928"}, 1002),
        ({"event-id": "evt_1", "event-key": ""}, 1002),
        ({**event, "event-params": {"account": "NULL"}}, 1001),
        ({**event, "event-params": {"account": "null"}}, 1001),
        ({**event, "event-params": {f"p{n}": "v" for n in range(401)}}, 499),
        ({**event, "event-params": {"blob": "x" * 25_000}}, 499),
    ]
    for payload, code in cases:
        response = client.post(EVENTS, json=payload)
        assert response.status_code == 200 and response.json()["code"] == code, payload
    response = client.post(EVENTS, content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 200 and response.json()["code"] == 1001
    many_params = {**event, "event-params": {f"p{n}": "v" for n in range(400)}}
    assert client.post(EVENTS, json=many_params).json()["code"] == 1000


def test_event_errors_under_http_500_when_configured() -> None:
    config = SandboxConfig(webex=WebexSandbox(event_error_http_status=500))
    with serve_in_thread(config) as (url, app), connect(url, app) as client:
        response = client.post(EVENTS, json={"event-key": "1"})
        assert response.status_code == 500 and response.json()["code"] == 1002
