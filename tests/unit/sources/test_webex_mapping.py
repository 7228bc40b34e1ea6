from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pipelines.model.events import RecordRejected
from pipelines.sources.webex.mapping import map_transaction
from sandbox.config import SandboxConfig
from sandbox.server import SandboxState
from sandbox.vendors.webex import TRANSACTION_STATUSES, WebexApi

KOLKATA = ZoneInfo("Asia/Kolkata")
NEW_YORK = ZoneInfo("America/New_York")
CONTEXT = {"key": "919812345670"}


def transaction(**overrides) -> dict:
    return {
        "campaign-id": "41002", "campaign-name": "Card Activation",
        "deployment-id": "880212", "deployment-name": "Card Activation - SMS wave 3",
        "deployment-date": "2026-11-03 10:00:00", "key": "919812345670",
        "customer-id": "CID00012345",
        "transaction-status": "Attempted Send successfully Pushed to Gateways",
        "error-code": "0", "channel": "0", "description": "Success",
        "transaction-id": "0f8c2f7e-5b1c-4c1e-9a51-0d7c7a1e2b3c", "link-transaction-id": "",
        "code": "1000", "msg_preview_url": "https://preview.webexcampaign.invalid/m/0f8c",
    } | overrides


def mapped(record: object, context: dict = CONTEXT, zone=KOLKATA, region: str = "US"):
    return map_transaction(record, context, zone=zone, default_region=region)


def test_maps_a_transaction_to_the_shared_model() -> None:
    event = mapped(transaction())
    assert (event.source, event.channel, event.direction) == ("webex", "sms", "outbound")
    assert event.status_raw == "Attempted Send successfully Pushed to Gateways"
    assert event.occurred_at == datetime(2026, 11, 3, 4, 30, tzinfo=UTC)  # IST is UTC+5:30
    assert event.recipient == "+919812345670"
    assert event.message_id == "0f8c2f7e-5b1c-4c1e-9a51-0d7c7a1e2b3c"
    assert (event.campaign_id, event.campaign_name) == ("41002", "Card Activation")
    assert (event.error_code, event.error_reason) == (None, None)  # "0" is no error
    assert event.attributes == {
        "deployment_id": "880212", "deployment_name": "Card Activation - SMS wave 3",
        "customer_id": "CID00012345",
        "msg_preview_url": "https://preview.webexcampaign.invalid/m/0f8c",
        "description": "Success", "channel_code": "0",
    }
    assert event.linked_message_id is None  # a pushed message answers nothing


def test_a_response_links_to_the_pushed_message_it_answers() -> None:
    opened = mapped(transaction(**{"transaction-status": "SMS, LinkClicked", "transaction-id": "t2",
                                   "link-transaction-id": "0f8c2f7e-5b1c"}))
    assert (opened.message_id, opened.linked_message_id) == ("t2", "0f8c2f7e-5b1c")


def test_the_transaction_id_is_the_identity_not_the_status() -> None:
    sent = mapped(transaction())
    delivered = mapped(transaction(**{"transaction-status": "Successfully delivered to the Customer"}))
    assert sent.event_id == delivered.event_id
    assert mapped(transaction(**{"transaction-id": "other"})).event_id != sent.event_id


def test_failures_keep_their_code_and_description() -> None:
    event = mapped(transaction(**{"transaction-status": "Failed to deliver to the Customer",
                                  "error-code": "2001", "description": "Failure"}))
    assert (event.error_code, event.error_reason) == ("2001", "Failure")


@pytest.mark.parametrize(("code", "channel", "key"), [
    ("0", "sms", "919812345670"), ("1", "mms", "919812345670"), ("3", "ussd", "919812345670"),
    ("6", "obd", "919812345670"), ("7", "email", "asha@example.in"),
    ("8", "app_push", "app-7f3a9c21e4b04d8f"), (7, "email", "asha@example.in"),
    ("EMAIL", "email", "asha@example.in"), ("App", "app_push", "app-7f3a9c21e4b04d8f"),
])
def test_channel_codes_and_names(code: object, channel: str, key: str) -> None:
    event = mapped(transaction(channel=code, key=key))
    assert event.channel == channel
    assert event.attributes["channel_code"] == str(code)


def test_deployment_date_is_read_in_the_tenant_zone_across_dst_changes() -> None:
    def utc(text: str):
        return mapped(transaction(**{"deployment-date": text}), zone=NEW_YORK).occurred_at

    assert utc("2026-03-07 12:00:00") == datetime(2026, 3, 7, 17, tzinfo=UTC)  # EST, UTC-5
    assert utc("2026-03-09 12:00:00") == datetime(2026, 3, 9, 16, tzinfo=UTC)  # EDT, UTC-4
    assert utc("2026-03-08 01:59:59") == datetime(2026, 3, 8, 6, 59, 59, tzinfo=UTC)
    assert utc("2026-03-08 03:00:00") == datetime(2026, 3, 8, 7, tzinfo=UTC)
    # The repeated hour when clocks go back: the earlier instant.
    assert utc("2026-11-01 01:30:00") == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    assert utc("2026-11-01 03:00:00") == datetime(2026, 11, 1, 8, tzinfo=UTC)
    assert utc("2026-11-01 01:30:00").tzinfo == UTC


def test_every_sandbox_transaction_of_a_dst_day_lands_on_its_utc_instant() -> None:
    config = SandboxConfig()
    config.webex.timezone = "America/New_York"
    api = WebexApi(config, SandboxState())
    day = date(2026, 11, 1)  # 25 hours long in New York
    start = datetime(2026, 11, 1, tzinfo=NEW_YORK).astimezone(UTC)
    events = [mapped(row, {"key": "busy.shopper@example.com"}, zone=NEW_YORK)
              for row in api.transactions("busy.shopper@example.com", day)]
    assert len(events) > 50
    assert all(start <= event.occurred_at < start + timedelta(hours=25) for event in events)


@pytest.mark.parametrize(("key", "channel", "recipient"), [
    ("Rohan.Mehta@Example.com", "7", "rohan.mehta@example.com"),
    ("919812345670", "0", "+919812345670"),  # country code without '+'
    ("447700900123", "6", "+447700900123"),
    ("+447700900123", "3", "+447700900123"),
    ("15556667777", "1", "+15556667777"),
    # An MSISDN carries its country code: never read as a national (+1) number.
    ("6591234567", "0", "+6591234567"),  # Singapore, +65 9123 4567
    ("2348031234567", "0", "+2348031234567"),  # Nigeria
    ("5511987654321", "1", "+5511987654321"),  # Brazil
    ("app-7F3a9c21e4b04d8f", "8", "app-7F3a9c21e4b04d8f"),  # device ids verbatim
])
def test_recipients_by_key_type(key: str, channel: str, recipient: str) -> None:
    assert mapped(transaction(key=key, channel=channel)).recipient == recipient


def test_the_requested_key_stands_in_when_the_record_has_none() -> None:
    record = transaction()
    del record["key"]
    assert mapped(record, {"key": "919833012345"}).recipient == "+919833012345"


@pytest.mark.parametrize("status", ["MOProcessedSuccess", "MOProcessedFailed", "DNDAddition",
                                    "DNDRemoval", "Email Unsubscribe", "MSISDN Unsubscribe",
                                    "email  unsubscribe"])
def test_customer_messages_and_actions_are_inbound(status: str) -> None:
    assert mapped(transaction(**{"transaction-status": status})).direction == "inbound"


@pytest.mark.parametrize("status", ["Successfully delivered to the Customer", "Email,Opened",
                                    "SMS, LinkClicked", "Notpushed, GlobalDND", "USSD, DTMF",
                                    "ActionProcessedSuccess", "OBD Failed -Busy",
                                    # events we posted through the event API
                                    "EventProcessedSuccess", "EventProcessedFailed"])
def test_messages_we_sent_and_their_engagement_are_outbound(status: str) -> None:
    assert mapped(transaction(**{"transaction-status": status})).direction == "outbound"


def test_every_documented_status_maps_verbatim() -> None:
    for status in TRANSACTION_STATUSES:
        assert mapped(transaction(**{"transaction-status": status})).status_raw == status


@pytest.mark.parametrize(("record", "reason"), [
    (transaction(**{"transaction-id": None}), "missing transaction-id"),
    (transaction(**{"transaction-id": "  "}), "missing transaction-id"),
    ({k: v for k, v in transaction().items() if k != "transaction-id"}, "missing transaction-id"),
    (transaction(**{"deployment-date": "03/11/2026 10:00"}), "unparseable timestamp"),
    (transaction(**{"deployment-date": None}), "missing"),
    (transaction(channel="2"), "unknown channel code"),
    (transaction(channel="FAX"), "unknown channel code"),
    (transaction(channel=None), "unknown channel code"),
    (transaction(channel="7"), "email transaction without an email key"),
    (transaction(key="asha@example.in"), "not a phone number"),
    (["a", "list"], "not a JSON object"),
    ("just a string", "not a JSON object"),
])
def test_unusable_records_are_rejected_with_a_reason(record: object, reason: str) -> None:
    with pytest.raises(RecordRejected, match=reason):
        mapped(record)


def test_every_record_the_sandbox_generates_maps() -> None:
    config = SandboxConfig()
    api = WebexApi(config, SandboxState())
    statuses = set()
    for key in config.webex.keys:
        for offset in range(5):
            for row in api.transactions(key, date(2026, 11, 1) + timedelta(days=offset)):
                event = mapped(row, {"key": key}, zone=ZoneInfo(config.webex.timezone))
                statuses.add(event.status_raw)
                assert event.message_id == row["transaction-id"]
    assert statuses <= set(TRANSACTION_STATUSES) and len(statuses) > 20
