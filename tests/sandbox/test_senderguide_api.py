"""The SenderGuide sandbox over real HTTP: auth, body errors, paging with totals on page 1
only, local-date windows, ordering, DST days and determinism."""

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from sandbox.config import SandboxConfig
from sandbox.server import SandboxApp, serve_in_thread
from sandbox.vendors.senderguide import PAGE_SIZE, SenderGuideApi

MESSAGE = "48213"
NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, SandboxApp]]:
    with serve_in_thread(SandboxConfig()) as (url, app):
        yield url, app


@pytest.fixture(scope="module")
def client(served: tuple[str, SandboxApp]) -> Iterator[httpx.Client]:
    url, app = served
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {app.config.senderguide.api_key}"},
                      timeout=10) as client:
        yield client


@pytest.fixture(scope="module")
def api(served: tuple[str, SandboxApp]) -> SenderGuideApi:
    return SenderGuideApi(served[1].config, served[1].state)


def post(client: httpx.Client, message: str = MESSAGE, **body: object) -> httpx.Response:
    """`toDate` here is the last local day wanted: the sandbox reads toDate exclusively by
    default (documented mode), so a date is sent as the day after it (anything else as given)."""
    payload = {"interactionType": "sends", "fromDate": "2026-11-02", "toDate": "2026-11-02",
               "pageNumber": 1, "order": "asc"} | body
    payload["toDate"] = exclusive(payload["toDate"])
    return client.post(f"/api/3.0/messages/interaction-data/{message}", json=payload)


def exclusive(last: object) -> object:
    try:
        return (date.fromisoformat(str(last)) + timedelta(days=1)).isoformat()
    except ValueError:
        return last


def all_pages(client: httpx.Client, **body: object) -> tuple[dict, list[dict]]:
    first = post(client, **body).json()
    rows = list(first["data"])
    for page in range(2, first["total_pages"] + 1):
        rows += post(client, pageNumber=page, **body).json()["data"]
    return first, rows


def test_wrong_key_is_401_in_the_error_shape(served: tuple[str, SandboxApp]) -> None:
    url, _ = served
    for headers in ({"Authorization": "Bearer nope"}, {}):
        response = httpx.post(f"{url}/api/3.0/messages/interaction-data/{MESSAGE}", headers=headers,
                              json={"interactionType": "sends", "fromDate": "2026-11-02",
                                    "toDate": "2026-11-02", "order": "asc"})
        assert response.status_code == 401
        body = response.json()
        assert body["result"] == "error" and body["code"] == 401 and body["status"]


def test_unknown_message_is_404(client: httpx.Client) -> None:
    response = post(client, message="999999")
    assert response.status_code == 404
    assert response.json()["result"] == "error"


@pytest.mark.parametrize(("change", "expected"), [
    ({"pageNumber": "x"}, "pageNumber is not numeric"),
    ({"order": "sideways"}, "order"),
    ({"order": None}, "order is missing"),
    ({"interactionType": None}, "interactionType is missing"),
    ({"fromDate": "2026-13-01"}, "yyyy-mm-dd"),
    ({"toDate": "11/02/2026"}, "yyyy-mm-dd"),
    ({"interactionType": "replies"}, "interactionType"),
    ({"fromDate": "2026-11-04"}, "before"),  # toDate (exclusive) 2026-11-03
])
def test_bad_bodies_are_400(client: httpx.Client, change: dict, expected: str) -> None:
    response = post(client, **change)
    assert response.status_code == 400
    body = response.json()
    assert body["result"] == "error" and body["code"] == 400
    assert expected in body["status"]


def test_totals_only_on_page_one_and_rows_add_up(client: httpx.Client, api: SenderGuideApi) -> None:
    expected = api.expected_rows(MESSAGE, "sends", date(2026, 11, 2))
    assert expected > 2 * PAGE_SIZE
    first, rows = all_pages(client)
    assert first["result"] == "success"
    assert first["page_size"] == PAGE_SIZE
    assert first["total_rows"] == expected == len(rows)
    assert first["total_pages"] == -(-expected // PAGE_SIZE)
    second = post(client, pageNumber=2).json()
    assert set(second) == {"result", "data"}  # the documented quirk
    assert {row["page_number"] for row in second["data"]} == {2}
    assert [row | {"page_number": 1} for row in rows] == list(api.rows(MESSAGE, "sends", date(2026, 11, 2)))
    assert post(client, pageNumber=first["total_pages"] + 1).json() == {"result": "success", "data": []}


def test_record_fields(client: httpx.Client) -> None:
    rows = all_pages(client)[1]
    assert set(rows[0]) == {"contact_id", "contact_email", "send_date", "interaction_type",
                            "interaction_date", "message_id", "page_number"}
    assert all(isinstance(row["contact_id"], int) and row["message_id"] == int(MESSAGE) for row in rows)
    assert all(row["send_date"] == row["interaction_date"] for row in rows)  # for sends
    datetime.strptime(rows[0]["interaction_date"], "%Y-%m-%d %H:%M:%S")
    assert any(row["contact_email"] != row["contact_email"].lower() for row in rows)  # mixed case


def test_window_is_the_local_days_asked(client: httpx.Client, api: SenderGuideApi) -> None:
    first, rows = all_pages(client, interactionType="opens", fromDate="2026-11-02", toDate="2026-11-04")
    days = [date(2026, 11, d) for d in (2, 3, 4)]
    assert first["total_rows"] == sum(api.expected_rows(MESSAGE, "opens", day) for day in days) == len(rows)
    assert {row["interaction_date"][:10] for row in rows} == {day.isoformat() for day in days}
    texts = [row["interaction_date"] for row in rows]
    assert texts == sorted(texts)


def test_desc_reverses_asc(client: httpx.Client) -> None:
    asc = all_pages(client, interactionType="clicks", fromDate="2026-10-20", toDate="2026-11-04")[1]
    desc = all_pages(client, interactionType="clicks", fromDate="2026-10-20", toDate="2026-11-04", order="desc")[1]
    assert [row | {"page_number": 0} for row in desc] == [row | {"page_number": 0} for row in asc][::-1]


def test_interactions_follow_their_send_sometimes_days_later(client: httpx.Client) -> None:
    for kind in ("opens", "clicks", "bounces", "unsubscribes"):
        rows = all_pages(client, interactionType=kind, fromDate="2026-11-02", toDate="2026-11-08")[1]
        assert rows, kind
        assert all(row["send_date"] <= row["interaction_date"] for row in rows), kind
        assert {row["interaction_type"] for row in rows} == {kind}
    opens = all_pages(client, interactionType="opens", fromDate="2026-11-02", toDate="2026-11-02")[1]
    assert any(row["send_date"][:10] < "2026-11-02" for row in opens)


def test_volumes_follow_the_rates(api: SenderGuideApi) -> None:
    days = [date(2026, 10, d) for d in range(1, 32)]
    sends = sum(api.expected_rows(MESSAGE, "sends", day) for day in days)
    opens = sum(api.expected_rows(MESSAGE, "opens", day) for day in days)
    clicks = sum(api.expected_rows(MESSAGE, "clicks", day) for day in days)
    assert 0.22 < opens / sends < 0.28 and 0.04 < clicks / sends < 0.06


def test_spring_forward_day_skips_the_missing_hour(client: httpx.Client, api: SenderGuideApi) -> None:
    first, rows = all_pages(client, fromDate="2026-03-08", toDate="2026-03-08")
    assert first["total_rows"] == api.expected_rows(MESSAGE, "sends", date(2026, 3, 8))
    hours = {row["interaction_date"][11:13] for row in rows}
    assert "02" not in hours and {"01", "03", "23"} <= hours
    for row in rows:  # every naive time exists in New York
        naive = datetime.strptime(row["interaction_date"], "%Y-%m-%d %H:%M:%S")
        round_trip = naive.replace(tzinfo=NEW_YORK).astimezone(UTC).astimezone(NEW_YORK).replace(tzinfo=None)
        assert round_trip == naive


def test_fall_back_day_has_both_passes_of_the_repeated_hour(client: httpx.Client, api: SenderGuideApi) -> None:
    day = date(2026, 11, 1)
    rows = all_pages(client, fromDate="2026-11-01", toDate="2026-11-01")[1]
    repeated = [i for i, row in enumerate(rows) if row["interaction_date"][11:13] == "01"]
    assert repeated
    offsets = {api.interaction_instant(MESSAGE, "sends", day, i).astimezone(NEW_YORK).utcoffset() for i in repeated}
    assert len(offsets) == 2  # EDT and EST
    texts = [row["interaction_date"] for row in rows]
    assert texts == sorted(texts)  # ordered by the naive text, as stored
    instants = [api.interaction_instant(MESSAGE, "sends", day, i) for i in range(len(rows))]
    assert max(instants) - min(instants) > timedelta(hours=24)  # a 25-hour day, all of it used


def test_same_seed_same_data_other_seed_other_data(client: httpx.Client) -> None:
    body = {"interactionType": "opens", "fromDate": "2026-11-02", "toDate": "2026-11-03",
            "pageNumber": 1, "order": "asc"}
    mine = post(client, **body).json()
    for seed, same in ((SandboxConfig().seed, True), (7, False)):
        config = SandboxConfig(seed=seed)
        with serve_in_thread(config) as (url, _), httpx.Client(
                base_url=url, headers={"Authorization": f"Bearer {config.senderguide.api_key}"}) as other:
            assert (post(other, **body).json() == mine) is same
