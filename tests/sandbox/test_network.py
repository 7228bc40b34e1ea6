"""The sandbox's network over real HTTP: per-vendor latency (fixed and seeded jitter), and
per-credential limits (concurrent, per second) answered with 429 and Retry-After in the
vendor's error shape; faults still apply, delayed; unlisted vendors and the control endpoints
are untouched. Wall time is only ever bounded from below: the suite must pass on a slow host."""

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import pytest

from sandbox.config import SandboxConfig, VendorNetwork
from sandbox.faults import FaultSettings
from sandbox.server import Network, SandboxApp, latency_s, serve_in_thread

Call = Callable[[httpx.Client, SandboxConfig], httpx.Response]


def mgage(client: httpx.Client, config: SandboxConfig) -> httpx.Response:
    return client.get(f"/api/messages/program/{config.mgage.program_ids[0]}",
                      auth=(config.mgage.username, config.mgage.password),
                      params={"messageType": "MT", "startDate": "2026-11-02T00:00:00",
                              "endDate": "2026-11-02T01:00:00", "pageSize": "10"})


def senderguide(client: httpx.Client, config: SandboxConfig, token: str | None = None) -> httpx.Response:
    return client.post(f"/api/3.0/messages/interaction-data/{config.senderguide.message_ids[0]}",
                       headers={"Authorization": f"Bearer {token or config.senderguide.api_key}"},
                       json={"interactionType": "bounces", "fromDate": "2026-11-02",
                             "toDate": "2026-11-03", "order": "asc"})


def cinnox(client: httpx.Client, config: SandboxConfig, token: str | None = None) -> httpx.Response:
    return client.get(f"/v1/api/apps/{config.cinnox.app_id}/data/sent-campaigns-summary",
                      headers={"Authorization": f"Bearer {token or config.cinnox.app_token}"},
                      params={"startAt": "2026-11-01T00:00:00Z", "endAt": "2026-11-02T00:00:00Z"})


def webex(client: httpx.Client, config: SandboxConfig) -> httpx.Response:
    return client.get("/campaignapi/resources/v3/customertransactions",
                      headers={"Authorization": f"Bearer {config.webex.api_key}"},
                      params={"key": config.webex.keys[0], "count": "5", "from-date": "2026-11-02",
                              "to-date": "2026-11-03"})


CALLS: dict[str, Call] = {"mgage": mgage, "senderguide": senderguide, "cinnox": cinnox, "webex": webex}


@contextmanager
def serve(**overrides: object) -> Iterator[tuple[httpx.Client, SandboxApp]]:
    with serve_in_thread(SandboxConfig(**overrides)) as (url, app), \
            httpx.Client(base_url=url, timeout=30) as client:
        yield client, app


class FrozenClock:
    """A monotonic clock that moves only when told: per-second windows without wall time."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def frozen(app: SandboxApp) -> FrozenClock:
    clock = FrozenClock()
    app.network.clock = clock
    return clock


def timed(call: Callable[[], httpx.Response]) -> tuple[httpx.Response, float]:
    start = time.monotonic()
    response = call()
    return response, time.monotonic() - start


# -- latency -------------------------------------------------------------------------------

def test_latency_delays_the_answer() -> None:
    network = {"cinnox": VendorNetwork(latency_ms=200), "mgage": VendorNetwork(latency_ms=150, jitter_ms=100)}
    with serve(network=network) as (client, app):
        for _ in range(2):
            response, elapsed = timed(lambda: cinnox(client, app.config))
            assert response.status_code == 200 and response.json()["code"] == 0
            assert elapsed >= 0.2
        response, elapsed = timed(lambda: mgage(client, app.config))
        assert response.status_code == 200 and elapsed >= 0.15
        stats = app.network_stats()
        assert stats["cinnox"].requests == 2 and stats["cinnox"].throttled == 0
        assert stats["mgage"].requests == 1


def test_jitter_is_seeded_per_vendor_request_and_attempt() -> None:
    settings = VendorNetwork(latency_ms=50, jitter_ms=100)
    delays = [latency_s(7, "mgage", settings, "GET /a? x", attempt) for attempt in range(50)]
    assert delays == [latency_s(7, "mgage", settings, "GET /a? x", attempt) for attempt in range(50)]
    assert all(0.05 <= delay < 0.15 for delay in delays)
    assert len(set(delays)) > 40  # random within the range, not one value
    assert latency_s(8, "mgage", settings, "GET /a? x", 0) != delays[0]
    assert latency_s(7, "webex", settings, "GET /a? x", 0) != delays[0]
    assert latency_s(7, "mgage", settings, "GET /b? x", 0) != delays[0]
    assert latency_s(7, "mgage", VendorNetwork(latency_ms=50), "GET /a? x", 3) == 0.05
    # The app's plan counts the attempts of each request: two plans with one seed agree.
    first, second = (Network(7, {"mgage": settings}) for _ in range(2))
    seen = [first.delay_s("mgage", "GET /a? x") for _ in range(5)]
    assert seen == [second.delay_s("mgage", "GET /a? x") for _ in range(5)] == delays[:5]
    assert first.delay_s("cinnox", "GET /a? x") == 0.0  # unlisted


def test_faulted_answers_are_delayed_and_slow_faults_add_theirs() -> None:
    network = {"cinnox": VendorNetwork(latency_ms=200)}
    with serve(network=network, faults=FaultSettings(rates={"server_error": 1.0})) as (client, app):
        response, elapsed = timed(lambda: cinnox(client, app.config))
        assert response.status_code in (500, 502, 503) and elapsed >= 0.2
    with serve(network=network, faults=FaultSettings(rates={"throttle": 1.0})) as (client, app):
        response, elapsed = timed(lambda: cinnox(client, app.config))
        assert response.status_code == 429 and elapsed >= 0.2
        # A fault's 429 is the vendor answering, not the limits: counted as answered.
        assert app.network_stats()["cinnox"].throttled == 0
    with serve(network=network, faults=FaultSettings(rates={"slow": 1.0}, slow_s=0.3)) as (client, app):
        response, elapsed = timed(lambda: cinnox(client, app.config))
        assert response.status_code == 200 and elapsed >= 0.5


# -- limits --------------------------------------------------------------------------------

def test_concurrency_limit_throttles_the_excess() -> None:
    limit, callers = 2, 5
    network = {"cinnox": VendorNetwork(latency_ms=500, max_concurrent=limit)}
    with serve_in_thread(SandboxConfig(network=network)) as (url, app):
        barrier = threading.Barrier(callers)
        responses: list[httpx.Response] = []
        lock = threading.Lock()

        def call() -> None:
            with httpx.Client(base_url=url, timeout=30) as client:
                barrier.wait()
                response = cinnox(client, app.config)
            with lock:
                responses.append(response)

        threads = [threading.Thread(target=call) for _ in range(callers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        statuses = sorted(response.status_code for response in responses)
        assert set(statuses) <= {200, 429} and 429 in statuses
        for response in responses:
            if response.status_code == 429:
                assert response.headers["Retry-After"] == "1"
                assert response.json() == {"code": 429, "message": "Too many requests"}
        stats = app.network_stats()["cinnox"]
        assert stats.requests == statuses.count(200) and stats.throttled == statuses.count(429)
        # A 429 from the concurrency limit means `limit` were being answered at that moment.
        assert stats.peak_concurrent == limit


def test_per_second_limit_throttles_beyond_the_window_and_counts_accepted_only() -> None:
    with serve(network={"cinnox": VendorNetwork(max_per_second=3)}) as (client, app):
        clock = frozen(app)
        statuses = [cinnox(client, app.config).status_code for _ in range(5)]
        assert statuses == [200, 200, 200, 429, 429]
        throttled = cinnox(client, app.config)
        assert throttled.headers["Retry-After"] == "1"
        clock.now += 0.5
        assert cinnox(client, app.config).status_code == 429
        clock.now += 0.5  # a second after the burst: the window is empty again, throttled
        statuses = [cinnox(client, app.config).status_code for _ in range(4)]  # requests spent none
        assert statuses == [200, 200, 200, 429]
        stats = app.network_stats()["cinnox"]
        assert (stats.requests, stats.throttled) == (6, 5)


def test_fractional_rate_on_the_real_clock() -> None:
    # 0.1 a second: one request in any ten seconds; the next at once is over the limit.
    with serve(network={"cinnox": VendorNetwork(max_per_second=0.1)}) as (client, app):
        assert cinnox(client, app.config).status_code == 200
        throttled = cinnox(client, app.config)
        assert throttled.status_code == 429 and 1 <= int(throttled.headers["Retry-After"]) <= 10


def test_each_credential_has_its_own_limits() -> None:
    network = {"cinnox": VendorNetwork(max_per_second=2), "senderguide": VendorNetwork(max_per_second=2)}
    with serve(network=network) as (client, app):
        frozen(app)
        assert [cinnox(client, app.config).status_code for _ in range(3)] == [200, 200, 429]
        # Another token (refused by the vendor, but answered) has a budget of its own.
        assert [cinnox(client, app.config, "other-token").status_code for _ in range(3)] == [401, 401, 429]
        # And so has the same token at another vendor.
        assert [senderguide(client, app.config).status_code for _ in range(3)] == [200, 200, 429]
        stats = app.network_stats()
        assert (stats["cinnox"].requests, stats["cinnox"].throttled) == (4, 2)
        assert (stats["senderguide"].requests, stats["senderguide"].throttled) == (2, 1)


@pytest.mark.parametrize("vendor", list(CALLS))
def test_429_in_each_vendors_shape(vendor: str) -> None:
    shapes = {"mgage": lambda body: body["meta"]["generalErrors"] == ["Too many requests"],
              "senderguide": lambda body: body["result"] == "error" and body["code"] == 429,
              "cinnox": lambda body: body["code"] == 429 and body["message"],
              "webex": lambda body: body["code"] == 429 and body["description"]}
    with serve(network={vendor: VendorNetwork(max_per_second=1)}) as (client, app):
        frozen(app)
        assert CALLS[vendor](client, app.config).status_code == 200
        throttled = CALLS[vendor](client, app.config)
        assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "1"
        assert shapes[vendor](throttled.json())


# -- what the network leaves alone ---------------------------------------------------------

def test_unlisted_vendors_and_control_endpoints_are_unaffected() -> None:
    network = {"cinnox": VendorNetwork(latency_ms=50, max_per_second=1, max_concurrent=1)}
    with serve(network=network) as (client, app):
        frozen(app)
        for _ in range(5):
            assert senderguide(client, app.config).status_code == 200
            assert client.get("/_sandbox/health").status_code == 200
        stats = app.network_stats()
        assert stats["senderguide"].requests == 5 and stats["senderguide"].throttled == 0
        assert "cinnox" not in stats  # not called; the control endpoints are no vendor's


def test_default_config_has_no_network_and_never_throttles() -> None:
    assert SandboxConfig().network == {}
    with serve() as (client, app):
        for vendor, call in CALLS.items():
            statuses = {call(client, app.config).status_code for _ in range(10)}
            assert statuses == {200}, vendor
        stats = app.network_stats()
        assert {vendor: (s.requests, s.throttled) for vendor, s in stats.items()} == {
            vendor: (10, 0) for vendor in CALLS}


def test_network_settings_round_trip_and_unknown_vendors_are_refused() -> None:
    config = SandboxConfig(network={"mgage": VendorNetwork(latency_ms=50, jitter_ms=10, max_concurrent=4,
                                                           max_per_second=2.5)})
    assert SandboxConfig.from_json(config.to_json()) == config
    with pytest.raises(ValueError, match="mgauge"):
        SandboxApp(SandboxConfig(network={"mgauge": VendorNetwork()}))


def test_replayed_answers_are_made_once_per_request_credential_and_generation(monkeypatch) -> None:
    from sandbox.vendors.mgage import MgageApi

    made = []
    message = MgageApi.message
    monkeypatch.setattr(MgageApi, "message", lambda self, *key: made.append(key) or message(self, *key))
    with serve(network={"mgage": VendorNetwork(latency_ms=1, replay_answers=True)}) as (client, app):
        first = mgage(client, app.config)
        assert first.status_code == 200 and len(made) == 10  # a page of ten, made
        again = mgage(client, app.config)
        assert again.content == first.content and len(made) == 10  # replayed, made nothing

        refused = client.get(f"/api/messages/program/{app.config.mgage.program_ids[0]}", auth=("x", "y"))
        assert refused.status_code == 401  # another credential: answered on its own
        assert mgage(client, app.config).content == first.content and len(made) == 10

        assert client.post("/_sandbox/advance").status_code == 200
        assert mgage(client, app.config).status_code == 200 and len(made) == 20  # a new generation
        assert app.network_stats()["mgage"].requests == 5  # each still waited its latency


def test_answers_are_not_replayed_with_faults() -> None:
    with pytest.raises(ValueError, match="mgage: answers are replayed only without faults"):
        SandboxApp(SandboxConfig(network={"mgage": VendorNetwork(replay_answers=True)},
                                 faults=FaultSettings(rates={"server_error": 0.2})))
