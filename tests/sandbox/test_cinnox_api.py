"""The CINNOX sandbox over real HTTP: auth and appID, the {code, result, cid} envelope, offset/
limit paging until a short page, range and limit errors (6451000), inclusive windows, detail
fields per channel, both casings of the last-updated time, and statuses moving forward."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from sandbox.config import CinnoxSandbox, SandboxConfig
from sandbox.server import SandboxApp, serve_in_thread
from sandbox.vendors.cinnox import FAILED_REASONS, CinnoxApi, sms_parts

WINDOW = {"startAt": "2026-11-01T00:00:00Z", "endAt": "2026-11-08T00:00:00Z"}
_SMS_ORDER = {"Pending": 0, "Submitted": 1, "Delivered": 2, "Undelivered": 2, "Failed": 2}
_WHATSAPP_ORDER = {"Pending": 0, "Delivered": 1, "Failed": 1, "Read": 2}


def small_config() -> SandboxConfig:
    return SandboxConfig(cinnox=CinnoxSandbox(min_recipients=20, max_recipients=300))


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, SandboxApp]]:
    with serve_in_thread(small_config()) as (url, app):
        yield url, app


def connect(url: str, app: SandboxApp) -> httpx.Client:
    settings = app.config.cinnox
    return httpx.Client(base_url=f"{url}/v1/api/apps/{settings.app_id}/data",
                        headers={"Authorization": f"Bearer {settings.app_token}"}, timeout=10)


@pytest.fixture(scope="module")
def client(served: tuple[str, SandboxApp]) -> Iterator[httpx.Client]:
    with connect(*served) as client:
        yield client


@pytest.fixture(scope="module")
def api(served: tuple[str, SandboxApp]) -> CinnoxApi:
    return CinnoxApi(served[1].config, served[1].state)


def walk(client: httpx.Client, path: str, limit: int, **params: str) -> list[dict]:
    """Offset/limit paging until a short page, as a client must."""
    rows: list[dict] = []
    while True:
        body = client.get(path, params={**params, "offset": len(rows), "limit": limit}).json()
        assert body["code"] == 0 and isinstance(body["cid"], str) and body["cid"]
        rows += body["result"]
        if len(body["result"]) < limit:
            return rows


def last_updated(row: dict) -> str:
    return row.get("LastUpdatedDateTime") or row["lastUpdatedDateTime"]


def test_bad_token_is_401_and_other_app_is_404(served: tuple[str, SandboxApp]) -> None:
    url, app = served
    response = httpx.get(f"{url}/v1/api/apps/{app.config.cinnox.app_id}/data/sent-campaigns-summary",
                         params=WINDOW, headers={"Authorization": "Bearer wrong"})
    assert response.status_code == 401
    assert isinstance(response.json()["code"], int) and response.json()["message"]
    response = httpx.get(f"{url}/v1/api/apps/another-app/data/sent-campaigns-summary", params=WINDOW,
                         headers={"Authorization": f"Bearer {app.config.cinnox.app_token}"})
    assert response.status_code == 404
    assert set(response.json()) == {"code", "message"}


@pytest.mark.parametrize("params", [
    {**WINDOW, "limit": "101"},
    {**WINDOW, "limit": "0"},
    {**WINDOW, "offset": "-1"},
    {**WINDOW, "limit": "ten"},
    {"startAt": "2026-11-08T00:00:00Z", "endAt": "2026-11-01T00:00:00Z"},
    {"startAt": "2026-09-01T00:00:00Z", "endAt": "2026-11-01T00:00:00Z"},  # over 31 days
    {"startAt": "2026-11-01", "endAt": "2026-11-02"},  # not RFC3339 date-times
    {"startAt": "2026-11-01T00:00:00", "endAt": "2026-11-02T00:00:00"},  # no offset
    {"endAt": "2026-11-02T00:00:00Z"},
])
def test_bad_range_or_limit_is_6451000(client: httpx.Client, params: dict) -> None:
    response = client.get("/sent-campaigns-summary", params=params)
    assert response.status_code == 400
    assert response.json()["code"] == 6451000 and response.json()["message"]


def test_summary_pages_until_a_short_page(client: httpx.Client, api: CinnoxApi) -> None:
    expected = api.campaigns_between(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 8, tzinfo=UTC))
    assert len(expected) > 6
    assert walk(client, "/sent-campaigns-summary", 4, **WINDOW) == expected
    assert walk(client, "/sent-campaigns-summary", 100, **WINDOW) == expected
    dates = [row["date"] for row in expected]
    assert dates == sorted(dates)
    row = expected[0]
    assert {"id", "date", "campaignName", "channel", "totalRecipients"} <= set(row)
    assert {r["channel"] for r in expected} == {"SMS", "WhatsApp"}
    assert all(r["date"].endswith("Z") and len(r["date"]) == 24 for r in expected)


def test_window_bounds_are_inclusive_and_offsets_accepted(client: httpx.Client, api: CinnoxApi) -> None:
    campaigns = api.campaigns_between(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 8, tzinfo=UTC))
    exact = next(row for row in campaigns if row["date"].endswith(":00.000Z"))
    at = exact["date"]
    before = client.get("/sent-campaigns-summary", params={"startAt": "2026-10-31T00:00:00Z", "endAt": at}).json()
    after = client.get("/sent-campaigns-summary", params={"startAt": at, "endAt": "2026-11-09T00:00:00Z"}).json()
    assert before["result"][-1]["id"] == exact["id"] == after["result"][0]["id"]
    moment = datetime.fromisoformat(at.replace("Z", "+00:00"))
    shifted = (moment + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M:%S+08:00")
    only = client.get("/sent-campaigns-summary", params={"startAt": shifted, "endAt": shifted}).json()
    assert [row["id"] for row in only["result"]] == [exact["id"]]


def test_detail_pages_and_fields(client: httpx.Client, api: CinnoxApi) -> None:
    campaigns = api.campaigns_between(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 8, tzinfo=UTC))
    seen_casings, seen_recipient_kinds = set(), set()
    for channel in ("SMS", "WhatsApp"):
        campaign = next(row for row in campaigns if row["channel"] == channel)
        rows = walk(client, "/sent-campaigns-detail", 30, historyID=campaign["id"])
        assert len(rows) == campaign["totalRecipients"] == api.recipients(campaign["id"])
        assert len({str(row["recipient"]).lstrip("+") for row in rows}) == len(rows)
        for row in rows:
            assert row["date"] == campaign["date"]
            if channel == "SMS":
                assert row["recipientCountry"] in {"HK", "SG", "US", "GB"}
            else:  # documented: "In the SMS Campaign" only; the number carries its country code
                assert "recipientCountry" not in row and not str(row["recipient"]).startswith("+")
            seen_casings |= {"LastUpdatedDateTime", "lastUpdatedDateTime"} & set(row)
            seen_recipient_kinds.add("number" if isinstance(row["recipient"], int)
                                     else "plus" if row["recipient"].startswith("+") else "digits")
            assert last_updated(row) >= row["date"]
            if channel == "SMS":
                assert set(row["sender"]) == {"phone", "senderEID"}
                assert row["status"] in _SMS_ORDER
                assert row["carrierNetworkStatus"] in {"", "Queued", "Delivered", "Undelivered"}
                assert row["numSMS"] == sms_parts(row["content"]) >= 1
                assert "subject" not in row and "failedReason" not in row
            else:
                assert set(row["sender"]) == {"phone", "channelName", "sourceName"}
                assert row["status"] in _WHATSAPP_ORDER and row["subject"]
                assert (row["failedReason"] in FAILED_REASONS) == (row["status"] == "Failed")
                assert "content" not in row and "carrierNetworkStatus" not in row
        assert len({row["id"] for row in rows}) == 1  # the campaign's id: one for all rows ...
        assert rows[0]["id"] != campaign["id"]  # ... and not the historyID
    assert seen_casings == {"LastUpdatedDateTime", "lastUpdatedDateTime"}
    assert seen_recipient_kinds == {"number", "plus", "digits"}


@pytest.mark.parametrize("history_id", ["", "not-an-id", "6ae6ce5800004d2554882b18"])
def test_unknown_history_is_6451000(client: httpx.Client, history_id: str) -> None:
    response = client.get("/sent-campaigns-detail", params={"historyID": history_id})
    assert response.status_code == 400 and response.json()["code"] == 6451000


def test_limit_over_maximum_on_detail(client: httpx.Client, api: CinnoxApi) -> None:
    campaign = api.campaigns_between(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC))[0]
    response = client.get("/sent-campaigns-detail", params={"historyID": campaign["id"], "limit": 500})
    assert response.status_code == 400 and response.json()["code"] == 6451000


def test_statuses_move_forward_with_the_generation() -> None:
    with serve_in_thread(small_config()) as (url, app), connect(url, app) as client:
        api = CinnoxApi(app.config, app.state)
        campaigns = api.campaigns_between(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 8, tzinfo=UTC))
        chosen = [next(c for c in campaigns if c["channel"] == channel) for channel in ("SMS", "WhatsApp")]
        before = {c["id"]: walk(client, "/sent-campaigns-detail", 100, historyID=c["id"]) for c in chosen}
        app.state.advance()
        app.state.advance()
        after = {c["id"]: walk(client, "/sent-campaigns-detail", 100, historyID=c["id"]) for c in chosen}
        for campaign in chosen:
            order = _SMS_ORDER if campaign["channel"] == "SMS" else _WHATSAPP_ORDER
            pairs = list(zip(before[campaign["id"]], after[campaign["id"]], strict=True))
            assert all(old["recipient"] == new["recipient"] for old, new in pairs)
            assert all(order[new["status"]] >= order[old["status"]] for old, new in pairs)
            moved = [(old, new) for old, new in pairs if new["status"] != old["status"]]
            assert moved, campaign["channel"]
            assert all(last_updated(new) > last_updated(old) for old, new in moved)
            if campaign["channel"] == "SMS":  # every SMS chain is past Pending after two steps
                assert all(new["status"] != "Pending" for _, new in pairs)
        pairs = zip(before[chosen[1]["id"]], after[chosen[1]["id"]], strict=True)
        assert any(new["status"] == "Read" for _, new in pairs)


def test_deterministic_from_the_seed(client: httpx.Client) -> None:
    mine = client.get("/sent-campaigns-summary", params=WINDOW).json()["result"]
    for seed, same in ((small_config().seed, True), (11, False)):
        config = small_config()
        config.seed = seed
        with serve_in_thread(config) as (url, app), connect(url, app) as other:
            theirs = other.get("/sent-campaigns-summary", params=WINDOW).json()["result"]
            assert (theirs == mine) is same
