"""The sandbox's two modes. Documented (the default) serves the vendors' documents where they
are harsher than the sandbox used to be: mGage next-page URLs without the request's filters
(and the document's defaults for a request without them), exclusive upper bounds for
SenderGuide `toDate` and Webex `to-date`, international numbers without '+' (Webex MSISDN keys,
CINNOX WhatsApp recipients, which carry no recipientCountry). `documented=False` keeps the
kinder answers of before."""

import base64
import dataclasses
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import phonenumbers
import pytest

from pipelines.sources.mgage.client import MgageClient
from sandbox.config import CinnoxSandbox, MgageSandbox, SandboxConfig, WebexSandbox
from sandbox.server import SandboxApp, SandboxState, serve_in_thread
from sandbox.vendors.cinnox import CinnoxApi
from sandbox.vendors.mgage import MgageApi
from sandbox.vendors.senderguide import SenderGuideApi
from sandbox.vendors.webex import MAX_COUNT, WebexApi, channels_for

DOCUMENTED = SandboxConfig(mgage=MgageSandbox(program_ids=["121811"], daily_messages=120),
                           cinnox=CinnoxSandbox(min_recipients=20, max_recipients=200))
KIND = dataclasses.replace(DOCUMENTED, documented=False)
PROGRAM = "121811"
DAY = date(2026, 11, 16)  # two days before the suite's pinned instant
WINDOW = {"messageType": "MT", "startDate": "2026-11-16T00:00:00", "endDate": "2026-11-17T00:00:00",
          "pageSize": "50"}
MESSAGE_ID = DOCUMENTED.senderguide.message_ids[0]
BUSY = DOCUMENTED.webex.busy_keys[0]
WEBEX_PATH = "/campaignapi/resources/v3/customertransactions"


@pytest.fixture(scope="module")
def documented() -> Iterator[httpx.Client]:
    with serve_in_thread(DOCUMENTED) as (url, app), connect(url, app) as client:
        yield client


@pytest.fixture(scope="module")
def kind() -> Iterator[httpx.Client]:
    with serve_in_thread(KIND) as (url, app), connect(url, app) as client:
        yield client


def connect(url: str, app: SandboxApp) -> httpx.Client:
    return httpx.Client(base_url=url, timeout=10, auth=MgageAndBearer(app.config))


class MgageAndBearer(httpx.Auth):
    """Each vendor's credentials on its own paths."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        path = request.url.path
        if path.startswith("/api/messages/"):
            mgage = self.config.mgage
            token = base64.b64encode(f"{mgage.username}:{mgage.password}".encode()).decode()
            request.headers["Authorization"] = f"Basic {token}"
        elif path.startswith("/api/3.0/"):
            request.headers["Authorization"] = f"Bearer {self.config.senderguide.api_key}"
        else:
            request.headers["Authorization"] = f"Bearer {self.config.webex.api_key}"
        yield request


def mgage(client: httpx.Client, url: str = f"/api/messages/program/{PROGRAM}", **params: str) -> dict:
    response = client.get(url, params=params)
    assert response.status_code == 200
    body = response.json()
    assert body["meta"]["generalErrors"] == []
    return body


def query_of(next_url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(next_url).query)


# -- mGage -----------------------------------------------------------------------------------

def test_mgage_next_url_is_the_documents_example_without_filters(documented: httpx.Client) -> None:
    first = mgage(documented, **WINDOW)
    next_url = first["meta"]["nextPageUrl"]
    assert urlsplit(next_url).path == f"/api/messages/program/{PROGRAM}"
    assert query_of(next_url) == {"page": ["2"]}

    # Followed as given, it is page 2 of another listing: a year of both types, 50 a page.
    blind = mgage(documented, next_url)["data"]["messages"]
    assert len(blind) == 50
    assert all(message["date"] < "2025-11-20" for message in blind)  # a year back, not the day
    # With the filters added back, it is page 2 of the day, as the kinder mode serves it.
    followed = mgage(documented, **WINDOW, page="2")["data"]["messages"]
    assert followed and all("2026-11-16" <= message["date"][:19] <= WINDOW["endDate"] for message in followed)
    assert {message["type"] for message in followed} == {"MT"}


def test_mgage_request_without_filters_gets_the_documented_defaults(documented: httpx.Client) -> None:
    messages = mgage(documented)["data"]["messages"]
    assert len(messages) == 50  # default page size
    now = datetime(2026, 11, 18, 15, tzinfo=UTC)  # the suite's pinned instant (the clock ticks)
    first = datetime.fromisoformat(messages[0]["date"]).replace(tzinfo=UTC)
    assert now - timedelta(days=366) < first < now - timedelta(days=364)  # from a year ago
    day = mgage(documented, startDate="2026-11-16T00:00:00", endDate="2026-11-16T23:59:59",
                pageSize="500")["data"]["messages"]
    assert {message["type"] for message in day} == {"MT", "MO"}  # no messageType: both


def test_the_mgage_client_loads_exactly_the_day_from_filterless_next_urls() -> None:
    api = MgageApi(DOCUMENTED, SandboxState())
    expected = sum(api.expected_messages(PROGRAM, kind, DAY) for kind in ("MT", "MO"))
    with serve_in_thread(DOCUMENTED) as (url, _):
        client = MgageClient(base_url=url, username=DOCUMENTED.mgage.username,
                             password=DOCUMENTED.mgage.password, program_ids=PROGRAM, page_size=20,
                             time_slices=1)  # one walk per type, as the document pages it
        with client.session() as session:
            records = [record for page in session.day_pages(DAY) for record in page.records]
            calls = session.http.calls
    on_day = [record for record in records if record["date"].startswith(DAY.isoformat())]
    assert len(on_day) == expected
    # Beyond the day only the next midnight's first messages (the window's end is inclusive).
    assert {record["date"][:19] for record in records} - {r["date"][:19] for r in on_day} <= {
        f"{DAY + timedelta(days=1)}T00:00:00"}
    assert calls <= expected // 20 + 4  # the day's pages, not a year's


def test_kind_mgage_repeats_the_filters_and_reads_no_dates_as_today(kind: httpx.Client) -> None:
    next_url = mgage(kind, **WINDOW)["meta"]["nextPageUrl"]
    assert query_of(next_url) == {name: [value] for name, value in WINDOW.items()} | {"page": ["2"]}
    today = mgage(kind, pageSize="500")["data"]["messages"]
    assert today and all(message["date"].startswith("2026-11-18") for message in today)


# -- SenderGuide -----------------------------------------------------------------------------

def interactions(client: httpx.Client, from_date: str, to_date: str) -> httpx.Response:
    return client.post(f"/api/3.0/messages/interaction-data/{MESSAGE_ID}", json={
        "interactionType": "sends", "fromDate": from_date, "toDate": to_date, "order": "asc"})


def test_senderguide_to_date_is_exclusive(documented: httpx.Client) -> None:
    expected = SenderGuideApi(DOCUMENTED, SandboxState()).expected_rows(MESSAGE_ID, "sends", DAY)
    empty = interactions(documented, "2026-11-16", "2026-11-16")
    assert empty.status_code == 200
    assert (empty.json()["total_rows"], empty.json()["data"]) == (0, [])
    day = interactions(documented, "2026-11-16", "2026-11-17").json()
    assert day["total_rows"] == expected > 0
    assert {row["interaction_date"][:10] for row in day["data"]} == {"2026-11-16"}
    assert interactions(documented, "2026-11-16", "2026-11-15").status_code == 400


def test_kind_senderguide_to_date_is_inclusive(kind: httpx.Client) -> None:
    expected = SenderGuideApi(KIND, SandboxState()).expected_rows(MESSAGE_ID, "sends", DAY)
    assert interactions(kind, "2026-11-16", "2026-11-16").json()["total_rows"] == expected
    assert interactions(kind, "2026-11-16", "2026-11-15").status_code == 400


# -- Webex -----------------------------------------------------------------------------------

def transactions(client: httpx.Client, key: str, from_date: date, to_date: date) -> list[dict]:
    response = client.get(WEBEX_PATH, params={"key": key, "count": MAX_COUNT,
                                               "from-date": from_date.isoformat(),
                                               "to-date": to_date.isoformat()})
    assert response.status_code == 200
    body = response.json()
    return body["transactions"] if isinstance(body, dict) else body


def test_webex_to_date_is_exclusive(documented: httpx.Client) -> None:
    held = WebexApi(DOCUMENTED, SandboxState()).transactions(BUSY, DAY, preview=False)
    assert transactions(documented, BUSY, DAY, DAY) == []
    day = transactions(documented, BUSY, DAY, DAY + timedelta(days=1))
    assert [row["transaction-id"] for row in day] == [row["transaction-id"] for row in held[-MAX_COUNT:]]
    error = documented.get(WEBEX_PATH, params={"key": BUSY, "from-date": "2026-11-16", "to-date": "2026-11-15"})
    assert error.json()["code"] == 1001


def test_kind_webex_to_date_is_inclusive(kind: httpx.Client) -> None:
    held = WebexApi(KIND, SandboxState()).transactions(BUSY, DAY, preview=False)
    day = transactions(kind, BUSY, DAY, DAY)
    assert [row["transaction-id"] for row in day] == [row["transaction-id"] for row in held[-MAX_COUNT:]]


def test_webex_keys_include_an_international_number_that_looks_north_american(documented: httpx.Client) -> None:
    singapore = "6591234567"  # +65 9123 4567; as a ten-digit national number it would pass for +1
    assert singapore in WebexSandbox().keys
    number = phonenumbers.parse(f"+{singapore}")
    assert phonenumbers.is_valid_number(number) and phonenumbers.region_code_for_number(number) == "SG"
    assert channels_for(singapore) == channels_for("919812345670")  # an MSISDN
    rows = transactions(documented, singapore, date(2026, 10, 1), date(2026, 11, 17))
    assert rows and {row["key"] for row in rows} == {singapore}


# -- CINNOX ----------------------------------------------------------------------------------

def whatsapp_rows(config: SandboxConfig) -> list[dict]:
    api = CinnoxApi(config, SandboxState())
    campaigns = api.campaigns_between(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 8, tzinfo=UTC))
    return [api.detail_row(campaign["id"], index) for campaign in campaigns
            if campaign["channel"] == "WhatsApp" for index in range(campaign["totalRecipients"])]


def test_cinnox_whatsapp_recipients_are_international_without_plus_or_country() -> None:
    rows = whatsapp_rows(DOCUMENTED)
    assert rows and all("recipientCountry" not in row for row in rows)
    recipients = [str(row["recipient"]) for row in rows]
    assert all(recipient.isdigit() for recipient in recipients)
    assert {type(row["recipient"]) for row in rows} == {str, int}
    # Singapore's numbers: ten digits that would pass for a North-American number.
    singapore = [phonenumbers.parse(f"+{recipient}") for recipient in recipients
                 if recipient.startswith("65") and len(recipient) == 10]
    assert singapore and all(phonenumbers.is_possible_number(number) for number in singapore)
    assert any(phonenumbers.is_valid_number(number) and phonenumbers.region_code_for_number(number) == "SG"
               for number in singapore)


def test_kind_cinnox_whatsapp_rows_keep_country_and_plus() -> None:
    rows = whatsapp_rows(KIND)
    assert all(row["recipientCountry"] in {"HK", "SG", "US", "GB"} for row in rows)
    assert any(str(row["recipient"]).startswith("+") for row in rows)
