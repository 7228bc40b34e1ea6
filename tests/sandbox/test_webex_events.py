"""The Webex event API's memory over real HTTP: accepted events recorded with transaction-ids
drawn from the seed, their processed / pushed / clicked transactions in the customer-transactions
API (fields, order, the last-`count` cut, channels, merged with the generated history, shown
only once their time has come), the failed variant, and the per-key script of answers (errors
not recorded, a "lost" answer recorded but never sent). Time moves only on the pinned clock."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import time_machine

from pipelines.model import clock
from sandbox.config import SandboxConfig, WebexSandbox
from sandbox.server import SandboxApp, SandboxState, serve_in_thread
from sandbox.vendors.webex import EVENTS_PATHS, TRANSACTION_STATUSES, ReceivedEvent, WebexApi

PATH = "/campaignapi/resources/v3/customertransactions"
EVENTS = "/campaignapi/resources/v3/events"
SMS_KEY, EMAIL_KEY, APP_KEY = "919812345670", "Rohan.Mehta@Example.com", "app-7f3a9c21e4b04d8f"
FIELDS = {"campaign-id", "campaign-name", "deployment-id", "deployment-name", "deployment-date", "key",
          "customer-id", "transaction-status", "error-code", "channel", "description", "transaction-id",
          "link-transaction-id", "code", "msg_preview_url"}


@contextmanager
def serve(seed: int = SandboxConfig().seed, **webex: Any) -> Iterator[tuple[httpx.Client, SandboxApp]]:
    """A fresh sandbox (no events yet) and a client holding its Webex key."""
    with serve_in_thread(SandboxConfig(seed=seed, webex=WebexSandbox(**webex))) as (url, app), httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {app.config.webex.api_key}"}, timeout=10) as client:
        yield client, app


@contextmanager
def later(minutes: float) -> Iterator[None]:
    """The pinned clock moved forward (the in-process sandbox reads it too)."""
    with time_machine.travel(clock.now() + timedelta(minutes=minutes), tick=True):
        yield


def send(client: httpx.Client, key: str, event_id: str = "evt_order_shipped", path: str = EVENTS,
         **params: Any) -> httpx.Response:
    return client.post(path, json={"event-id": event_id, "event-key": key, "event-params": params})


def local_date(app: SandboxApp, event: ReceivedEvent) -> date:
    return event.received_at.astimezone(ZoneInfo(app.config.webex.timezone)).date()


def fetch(client: httpx.Client, key: str, first: date, last: date, count: int = 50, **extra: str) -> list[dict]:
    """The answer for the tenant-local days first..last (to-date exclusive, documented mode)."""
    response = client.get(PATH, params={"key": key, "count": count, "from-date": first.isoformat(),
                                        "to-date": (last + timedelta(days=1)).isoformat(),
                                        "message_preview": "true", **extra})
    assert response.status_code == 200
    body = response.json()
    return body["transactions"] if isinstance(body, dict) else body


def around(client: httpx.Client, app: SandboxApp, key: str, event: ReceivedEvent, count: int = 50,
           **extra: str) -> list[dict]:
    """The key's answer for the days around the event (its push may cross a local midnight)."""
    day = local_date(app, event)
    return fetch(client, key, day - timedelta(days=1), day + timedelta(days=1), count, **extra)


def stamp(app: SandboxApp, event: ReceivedEvent, minutes: int) -> str:
    moment = (event.received_at + timedelta(minutes=minutes)).astimezone(ZoneInfo(app.config.webex.timezone))
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def test_accepted_events_are_recorded_with_ids_unique_across_restarts() -> None:
    sent = [("+919812345670", "evt_a", {"account": "123"}), (EMAIL_KEY, "evt_b", {}),
            (APP_KEY, "evt_a", {"firstname": "joe", "tier": 2})]

    def run(seed: int) -> tuple[list[str], list[ReceivedEvent]]:
        with serve(seed) as (client, app):
            answers = []
            for (key, event_id, params), path in zip(sent, [*EVENTS_PATHS, EVENTS_PATHS[0]], strict=True):
                body = send(client, key, event_id, path, **params).json()
                assert body["code"] == 1000 and body["description"]
                answers.append(body["transaction-id"])
            assert client.post(EVENTS, json={"event-id": 7, "event-key": 919833012345}).json()["code"] == 1000
            return answers, app.webex_events()

    before = clock.now()
    answers, events = run(SandboxConfig().seed)
    assert [(e.event_key, e.event_id, e.params) for e in events[:3]] == sent  # the key as sent
    assert (events[3].event_id, events[3].event_key, events[3].params) == ("7", "919833012345", {})
    assert [e.transaction_id for e in events[:3]] == answers and len(set(answers)) == 3
    assert all(before <= e.received_at <= clock.now() and e.received_at.tzinfo for e in events)
    with time_machine.travel(clock.now() + timedelta(milliseconds=1), tick=False):  # restarted later
        again, _ = run(SandboxConfig().seed)
    assert not set(again) & set(answers)  # a restarted sandbox never repeats a tenant's id


def test_recording_is_thread_safe() -> None:
    with serve() as (client, app):
        def post_some() -> None:
            for _ in range(5):
                assert send(client, SMS_KEY).json()["code"] == 1000

        threads = [threading.Thread(target=post_some) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        ids = [event.transaction_id for event in app.webex_events()]
    assert len(ids) == len(set(ids)) == 40


def test_processed_push_and_click_show_in_the_transactions_api(instant: datetime) -> None:
    # No generated history: the keys' transactions are their events' alone. An event's
    # transaction-id (and so whether it gets a click) follows from the instant it came: the
    # events come at the suite's instant itself, the clock stopped, so that every run sees the
    # same clicks (some of the eight, as the seed gives them), however long the start took.
    with serve(max_daily_transactions=0) as (client, app), time_machine.travel(instant, tick=False):
        sent = [("+919812345670", "evt_welcome"), *[(SMS_KEY, "evt_sms_failure_fallback")] * 7,
                (EMAIL_KEY, "evt_welcome"), (APP_KEY, "evt_welcome")]
        for key, event_id in sent:
            assert send(client, key, event_id).json()["code"] == 1000
        events = app.webex_events()
        sms, email, app_event = events[:8], events[8], events[9]
        first = sms[0]
        # Processed now; the push and click are still to come.
        now_rows = around(client, app, SMS_KEY, first)
        assert [row["transaction-id"] for row in now_rows] == [event.transaction_id for event in sms]
        with later(3):
            rows = around(client, app, "919812345670", first)
            email_rows = around(client, app, "rohan.mehta@EXAMPLE.com", email)
            app_rows = around(client, app, APP_KEY, app_event)
            assert around(client, app, SMS_KEY, first, count=4) == rows[-4:]
            assert around(client, app, SMS_KEY, first, channel="SMS") == rows
            assert around(client, app, SMS_KEY, first, channel="OBD") == []
            assert fetch(client, SMS_KEY, local_date(app, first) - timedelta(days=3),
                         local_date(app, first) - timedelta(days=2)) == []

    clicks = [event for event in sms if app.webex.event_clicked(event.transaction_id)]
    assert 0 < len(clicks) < len(sms)  # about half the events get a click
    assert len(rows) == 2 * len(sms) + len(clicks)
    assert [row["deployment-date"] for row in rows] == sorted(row["deployment-date"] for row in rows)
    by_id = {row["transaction-id"]: row for row in rows}
    # Events of the same second keep the order they were received in.
    pushes = [row for row in rows if row["transaction-status"] == "Successfully delivered to the Customer"]
    for event, push in zip(sms, pushes, strict=True):
        processed = by_id[event.transaction_id]
        assert set(processed) == FIELDS and processed["msg_preview_url"].startswith("https://")
        assert {name: processed[name] for name in FIELDS - {"campaign-id", "msg_preview_url"}} == {
            "campaign-name": f"Event: {event.event_id}",
            "deployment-id": app.webex.event_deployment(event.event_id),
            "deployment-name": f"Event: {event.event_id} - SMS",
            "deployment-date": stamp(app, event, 0), "key": event.event_key,
            "customer-id": app.webex.customer_id(SMS_KEY), "transaction-status": "EventProcessedSuccess",
            "error-code": "0", "channel": "0", "description": "Success", "transaction-id": event.transaction_id,
            "link-transaction-id": "", "code": "1000"}
        assert processed["campaign-id"].isdigit()
        assert push["deployment-date"] == stamp(app, event, 1)
        same = ("campaign-id", "campaign-name", "deployment-id", "deployment-name", "key", "customer-id",
                "channel", "error-code", "description", "code")
        assert {name: push[name] for name in same} == {name: processed[name] for name in same}
        assert push["link-transaction-id"] == "" and push["transaction-id"] not in {e.transaction_id for e in sms}
        clicked = [row for row in rows if row["link-transaction-id"] == push["transaction-id"]]
        assert len(clicked) == (event in clicks)
        for click in clicked:
            assert click["transaction-status"] == "SMS, LinkClicked"
            assert click["deployment-date"] == stamp(app, event, 2)
            assert {name: click[name] for name in same} == {name: processed[name] for name in same}
            assert click["msg_preview_url"] == push["msg_preview_url"]
    assert by_id[first.transaction_id]["key"] == "+919812345670"  # as the event sent it
    assert app.webex.event_deployment("evt_sms_failure_fallback") == "990001"  # the configured one
    assert {by_id[event.transaction_id]["deployment-id"] for event in sms[1:]} == {"990001"}

    deployment = app.webex.event_deployment("evt_welcome")
    assert deployment.isdigit() and 990_000 <= int(deployment) < 991_000
    assert deployment == WebexApi(app.config, SandboxState()).event_deployment("evt_welcome")  # stable
    for event, found, channel, click_status in ((email, email_rows, "7", "Email, LinkClicked"),
                                                 (app_event, app_rows, "8", "App notification, Opened")):
        assert found[0]["transaction-id"] == event.transaction_id
        assert [row["transaction-status"] for row in found] == [
            "EventProcessedSuccess", "Successfully delivered to the Customer",
            *([click_status] if app.webex.event_clicked(event.transaction_id) else [])]
        assert {row["channel"] for row in found} == {channel}
        assert {row["key"] for row in found} == {event.event_key}
        assert {row["deployment-id"] for row in found} == {deployment}


def test_a_failed_event_shows_failed_and_pushes_nothing() -> None:
    with serve(max_daily_transactions=0) as (client, app):
        assert send(client, EMAIL_KEY, sandbox_fail="true").json()["code"] == 1000
        event = app.webex_events()[0]
        with later(5):
            rows = around(client, app, EMAIL_KEY, event)
    assert len(rows) == 1
    assert rows[0]["transaction-id"] == event.transaction_id
    assert rows[0]["transaction-status"] == "EventProcessedFailed" and rows[0]["description"] == "Failure"
    assert rows[0]["error-code"] == str(2000 + TRANSACTION_STATUSES.index("EventProcessedFailed"))
    assert rows[0]["channel"] == "7" and rows[0]["deployment-date"] == stamp(app, event, 0)


def test_events_merge_with_the_generated_history() -> None:
    with serve(max_daily_transactions=20) as (client, app):
        today = clock.today(ZoneInfo(app.config.webex.timezone))
        generated = WebexApi(app.config, SandboxState())  # the same history, without the events
        key = next(f"9198000{n:05d}" for n in range(100) if generated.daily_count(f"9198000{n:05d}", today) >= 4)
        for _ in range(3):
            assert send(client, key).json()["code"] == 1000
        events = app.webex_events()
        day = local_date(app, events[0])
        answer = fetch(client, key, day, day)
        assert answer == app.webex.transactions(key, day)  # the test helper sees the events too
        for count in range(1, len(answer) + 1):  # the last `count` of the merged day
            assert fetch(client, key, day, day, count=count) == answer[-count:]
        assert fetch(client, key, day, day, channel="SMS") == [row for row in answer if row["channel"] == "0"]
    ours = [row for row in answer if row["transaction-id"] in {event.transaction_id for event in events}]
    assert len(ours) == 3  # processed at once; the pushes are a minute away
    assert [row["deployment-date"] for row in answer] == sorted(row["deployment-date"] for row in answer)
    assert [row for row in answer if row not in ours] == generated.transactions(key, day)


def test_scripted_answers() -> None:
    script = ["lost", "429", "499", "502", "430", "500", "1001", "1002", "1003", "accept"]
    for failure in (200, 500):
        with serve(event_script={"+919833012345": script, "Someone@Example.com": ["1003"]},
                   event_error_http_status=failure) as (client, app):
            with pytest.raises(httpx.TransportError):
                send(client, "919833012345", event_id="evt_lost")
            lost = app.webex_events()
            assert [(e.event_id, e.event_key) for e in lost] == [("evt_lost", "919833012345")]
            expected = {"429": 429, "499": 499, "502": 502, "430": 401, "500": failure, "1001": failure,
                        "1002": failure, "1003": failure}
            for code in script[1:-1]:
                response = send(client, "+919833012345")
                assert response.status_code == expected[code], code
                body = response.json()
                assert set(body) == {"code", "description"} and body["code"] == int(code) and body["description"]
                assert (response.headers.get("Retry-After") == "1") is (code == "429")
            assert app.webex_events() == lost  # errors record nothing
            for _ in range(2):  # the script used up: accepted
                assert send(client, "919833012345").json()["code"] == 1000
            assert send(client, "someone@example.com").json()["code"] == 1003  # keys compare as ever
            assert send(client, "someone@example.com").json()["code"] == 1000
            assert send(client, SMS_KEY).json()["code"] == 1000  # a key without a script
            assert len(app.webex_events()) == 5
            with later(3):  # the lost event was processed: the vendor shows it
                rows = around(client, app, "919833012345", lost[0], channel="SMS")
            assert rows and lost[0].transaction_id in {row["transaction-id"] for row in rows}


def test_an_unknown_scripted_answer_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown answers"):
        WebexApi(SandboxConfig(webex=WebexSandbox(event_script={SMS_KEY: ["accept", "teapot"]})), SandboxState())


def test_validation_errors_record_nothing_and_use_no_script() -> None:
    with serve(event_script={SMS_KEY: ["429"]}) as (client, app):
        event = {"event-id": "evt_1", "event-key": SMS_KEY, "event-params": {"account": "1"}}
        invalid = [{"event-key": SMS_KEY}, {"event-id": "evt_1", "event-key": ""},
                   {**event, "event-params": {"account": "NULL"}},
                   {**event, "event-params": {f"p{n}": "v" for n in range(401)}},
                   {**event, "event-params": {"blob": "x" * 25_000}}, {**event, "event-params": [1]}]
        for payload in invalid:
            assert client.post(EVENTS, json=payload).json()["code"] in (1001, 1002, 499), payload
        assert client.post(EVENTS, content=b"{not json").json()["code"] == 1001
        unauthorized = client.post(EVENTS, json=event, headers={"Authorization": "Bearer nope"})
        assert unauthorized.status_code == 401
        assert app.webex_events() == []
        assert client.post(EVENTS, json=event).json()["code"] == 429  # the script's first answer
        assert app.webex_events() == []
        assert client.post(EVENTS, json=event).json()["code"] == 1000
        assert len(app.webex_events()) == 1
