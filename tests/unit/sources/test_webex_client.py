"""The Webex client against a fake transport: answers of both shapes, error objects under
HTTP 200, retries on "later" codes, and bounded concurrency over many keys."""

import threading
import time
from collections.abc import Iterator
from datetime import date

import httpx
import pytest

from pipelines.sources.webex.assets import Spending
from pipelines.sources.webex.client import KeyFailure, KeyIncrement, KeyWindow, RunBudget, WebexClient
from pipelines.transport.http import RetryPolicy, VendorError

FAST = RetryPolicy(max_attempts=3, initial_backoff_s=0.001, max_backoff_s=0.002)
DAY = date(2026, 11, 3)
PATH = "/campaignapi/resources/v3/customertransactions"


def client(**overrides) -> WebexClient:
    return WebexClient(**({"base_url": "https://tenant.webexcampaign.test", "api_key": "s3cret",
                           "keys": " 919812345670, a@b.test ,,+919812345670,A@B.test,App-1,app-1"}
                          | overrides))


def test_configuration() -> None:
    webex = client()
    # Spellings of one customer become one key in the warehouse (ops.webex_key_identity).
    assert webex.configured_keys == ["919812345670", "a@b.test", "+919812345670", "A@B.test",
                                     "App-1", "app-1"]
    assert (webex.count, webex.max_concurrency, webex.initial_days) == (50, 8, 7)
    assert webex.transactions_path == PATH
    assert str(client(timezone="Asia/Kolkata").zone) == "Asia/Kolkata"  # never assumed: see test_vendor_zones


@pytest.mark.parametrize("body", [[{"transaction-id": "t1"}],
                                  {"transactions": [{"transaction-id": "t1"}]},
                                  {"code": "1000", "data": [{"transaction-id": "t1"}]}])
def test_a_bare_array_or_an_object_holding_one(body: object) -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, json=body)

    with client().session(transport=httpx.MockTransport(handler), retry=FAST) as api:
        assert api.transactions("+919812345670", DAY, DAY) == [{"transaction-id": "t1"}]
        assert api.calls == 1
    [request] = requests
    assert request.url.path == PATH
    assert dict(request.url.params) == {"key": "+919812345670", "count": "50",
                                        "from-date": "2026-11-03", "to-date": "2026-11-03",
                                        "message_preview": "true"}
    assert request.headers["Authorization"] == "Bearer s3cret"


@pytest.mark.parametrize(("status", "body", "fatal"), [
    (200, {"code": 1001, "description": "Invalid input JSON"}, False),
    (200, {"code": "1010", "description": "The request was not processed."}, False),
    (200, {"code": 1002, "description": "Mandatory field missing"}, False),
    (200, {"unexpected": "shape"}, False),
    (200, "text", False),
    (401, {"code": 430, "description": "Authorization failed"}, True),
    (200, {"code": 498, "description": "Invalid token"}, True),
])
def test_error_objects_fail_the_key_without_retrying(status: int, body: object, fatal: bool) -> None:
    with client().session(transport=httpx.MockTransport(lambda request: httpx.Response(status, json=body)),
                          retry=FAST) as api:
        [failure] = api.fetch_keys([KeyWindow("919812345670", DAY, DAY)])
        assert isinstance(failure, KeyFailure) and failure.fatal == fatal
        assert api.calls == 1 and api.retries == 0
    assert "s3cret" not in str(failure.error)
    if isinstance(body, dict) and "code" in body:
        assert f"code {body['code']}" in str(failure.error) or status == 401


@pytest.mark.parametrize("code", [429, "499", 500])
def test_later_codes_under_http_200_are_retried(code: object) -> None:
    answers = iter([httpx.Response(200, json={"code": code, "description": "later"}),
                    httpx.Response(200, json=[{"transaction-id": "t1"}])])
    with client().session(transport=httpx.MockTransport(lambda request: next(answers)), retry=FAST) as api:
        assert api.transactions("k", DAY, DAY) == [{"transaction-id": "t1"}]
        assert (api.calls, api.retries) == (2, 1)


def test_a_later_code_that_persists_fails_after_the_retries() -> None:
    def respond(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"code": 499, "description": "Request failed"})

    with client().session(transport=httpx.MockTransport(respond), retry=FAST) as api:
        with pytest.raises(VendorError, match="code 499"):
            api.transactions("k", DAY, DAY)
        assert (api.calls, api.retries) == (3, 2)


def test_an_error_status_with_a_later_code_is_retried() -> None:
    answers = iter([httpx.Response(499, json={"code": 499, "description": "Request failed"}),
                    httpx.Response(200, json=[])])
    with client().session(transport=httpx.MockTransport(lambda request: next(answers)), retry=FAST) as api:
        assert api.transactions("k", DAY, DAY) == []
        assert api.retries == 1


def test_many_keys_concurrently_within_the_bound_each_once() -> None:
    lock = threading.Lock()
    running, peak, asked = 0, 0, []

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal running, peak
        key = request.url.params["key"]
        with lock:
            running += 1
            peak = max(peak, running)
            asked.append(key)
        time.sleep(0.005)
        with lock:
            running -= 1
        if key == "bad":
            return httpx.Response(200, json={"code": 1001, "description": "Invalid input"})
        return httpx.Response(200, json=[{"transaction-id": f"{key}-1"}])

    keys = [f"9198000{n:05d}" for n in range(60)] + ["bad"]
    webex = client(max_concurrency=4)
    with webex.session(transport=httpx.MockTransport(handler), retry=FAST) as api:
        results = list(api.fetch_keys(KeyWindow(key, DAY, DAY) for key in keys))
        assert api.calls == len(keys)  # counters of every worker thread added up
    assert 1 < peak <= 4
    assert sorted(asked) == sorted(keys)
    loaded = {result.window.key: result for result in results if isinstance(result, KeyIncrement)}
    [failure] = [result for result in results if isinstance(result, KeyFailure)]
    assert failure.window.key == "bad" and not failure.fatal
    assert loaded.keys() == set(keys) - {"bad"}
    assert all(result.transactions == [{"transaction-id": f"{key}-1"}]
               for key, result in loaded.items())


def test_keys_are_fetched_only_a_bounded_distance_ahead_of_the_consumer() -> None:
    asked: list[str] = []

    def respond(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.params["key"])
        return httpx.Response(200, json=[])

    webex = client(max_concurrency=2)
    with webex.session(transport=httpx.MockTransport(respond), retry=FAST) as api:
        fetched = api.fetch_keys(KeyWindow(f"k{n}", DAY, DAY) for n in range(100))
        next(fetched)
        time.sleep(0.2)  # the consumer is busy loading: the workers must wait for it
        assert len(asked) <= 2 * 2 + 1
        fetched.close()  # stopping early cancels the rest
        assert len(asked) <= 2 * 2 + 1


def test_a_budget_of_n_requests_starts_n_keys_however_far_the_workers_have_got() -> None:
    """Each key started counts once against the budget: as its reservation until its first call
    goes, then as that call. A key whose call has gone but whose answer the run has not read
    yet once counted twice, so on a loaded machine a budget of 3 started only 2 keys."""
    went = threading.Semaphore(0)
    release = threading.Event()

    def respond(request: httpx.Request) -> httpx.Response:
        went.release()  # the call is counted before it reaches the transport
        release.wait(5)
        return httpx.Response(200, json=[])

    spending = Spending(RunBudget(requests=3, seconds=3_600, requests_per_second=0))
    committed: list[int] = []
    webex = client(max_concurrency=4)
    with webex.session(transport=httpx.MockTransport(respond), retry=FAST) as api:
        def windows() -> Iterator[KeyWindow]:
            try:
                for n in range(5):
                    committed.append(api.committed)
                    if not spending.allows_another(committed[-1]):
                        return
                    yield KeyWindow(f"k{n}", DAY, DAY)
                    went.acquire()  # a slow run: this key's call has gone, its answer is unread
            finally:
                release.set()

        results = list(api.fetch_keys(windows()))
        assert (api.calls, api.committed) == (3, 3)
    assert committed == [0, 1, 2, 3]
    assert sorted(result.window.key for result in results if isinstance(result, KeyIncrement)) \
        == ["k0", "k1", "k2"]


@pytest.mark.parametrize(("rate", "concurrent", "in_run", "shards", "expected"), [
    # One run per shard, one at a time: each gets a quarter of the slot at the full rate.
    (20, 1, 1, 4, RunBudget(requests=7_500, seconds=375, requests_per_second=20)),
    # Four at once: each paces at a quarter of the rate, over the whole slot.
    (20, 4, 1, 4, RunBudget(requests=7_500, seconds=1_500, requests_per_second=5)),
    # One run over every shard (make run): the whole slot and the whole budget.
    (20, 1, 4, 4, RunBudget(requests=30_000, seconds=1_500, requests_per_second=20)),
    # No vendor limit: time is the only budget.
    (0, 1, 1, 4, RunBudget(requests=None, seconds=375, requests_per_second=0)),
])
def test_shard_runs_share_the_tenants_budget(rate: int, concurrent: int, in_run: int, shards: int,
                                             expected: RunBudget) -> None:
    webex = client(max_requests_per_second=rate, concurrent_shards=concurrent, run_seconds=1_500)
    budget = webex.run_budget(in_run, shards)
    assert budget == expected
    # Whatever the split, a tick's runs together never exceed the tenant's rate or its slot.
    assert budget.requests_per_second * concurrent <= rate or rate == 0
    assert budget.seconds <= 1_500


def test_a_budget_setting_below_one_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="WEBEX_RUN_SECONDS and WEBEX_CONCURRENT_SHARDS"):
        client(concurrent_shards=0).run_budget(1, 4)


def last_n_vendor(per_day: dict[date, int], inclusive: bool, asked: list) -> httpx.MockTransport:
    """A tenant answering the last `count` transactions from from-date to to-date, with to-date
    inclusive or exclusive (undocumented), rows dated by `deployment-date`."""
    def handler(request: httpx.Request) -> httpx.Response:
        params = request.url.params
        first, to = date.fromisoformat(params["from-date"]), date.fromisoformat(params["to-date"])
        asked.append((first, to))
        rows = [{"transaction-id": f"{day}#{n:03d}", "deployment-date": f"{day} {n // 60:02d}:{n % 60:02d}:00"}
                for day in sorted(per_day) if first <= day and (day <= to if inclusive else day < to)
                for n in range(per_day[day])]
        return httpx.Response(200, json=rows[-int(params["count"]):])

    return httpx.MockTransport(handler)


@pytest.mark.parametrize(("inclusive", "calls"), [(True, 5), (False, 3)])
def test_no_transaction_is_lost_whether_to_date_is_inclusive_or_not(inclusive: bool, calls: int) -> None:
    quiet, busy, next_day = DAY, date(2026, 11, 4), date(2026, 11, 5)
    asked: list[tuple[date, date]] = []
    transport = last_n_vendor({quiet: 3, busy: 60, next_day: 70}, inclusive, asked)
    with client().session(transport=transport, retry=FAST) as api:
        [result] = api.fetch_keys([KeyWindow("6591234567", quiet, busy)])
        assert api.calls == calls
    assert isinstance(result, KeyIncrement) and result.requests == calls
    assert asked[0] == (quiet, next_day)  # the window's last day, asked so that either reading holds it
    ids = [row["transaction-id"] for row in result.transactions]
    assert ids == [f"{quiet}#{n:03d}" for n in range(3)] + [f"{busy}#{n:03d}" for n in range(10, 60)]
    assert [(day.local_date, day.returned) for day in result.truncated] == [(busy, 50)]
