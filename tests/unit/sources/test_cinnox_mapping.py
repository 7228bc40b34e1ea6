from datetime import UTC, datetime

import pytest

from pipelines.model.events import RecordRejected, make_event_id
from pipelines.sources.cinnox.mapping import map_recipient, parse_failed_reason

HISTORY_ID = "6734c5a0000237a1f0c9e4b2"
SMS = {"history_id": HISTORY_ID, "campaign_name": "Flash Sale 13 Nov", "channel": "SMS",
       "campaign_date": "2026-11-13T08:00:00.000Z"}
WHATSAPP = SMS | {"campaign_name": "Order Updates 13 Nov", "channel": "WhatsApp"}


def sms_row(**overrides) -> dict:
    return {"id": "a1b2c3d4e5f6a1b2c3d4e5f6", "date": "2026-11-13T08:00:00.000Z",
            "sender": {"phone": "ACME", "senderEID": "eid-0badcafe"},
            "recipient": "85291234567", "recipientCountry": "HK",
            "content": "ACME: Flash sale today only", "numSMS": 1, "status": "Submitted",
            "carrierNetworkStatus": "Queued",
            "LastUpdatedDateTime": "2026-11-13T08:00:03.250Z"} | overrides


def whatsapp_row(**overrides) -> dict:
    return {"id": "f6e5d4c3b2a1f6e5d4c3b2a1", "date": "2026-11-13T08:00:00.000Z",
            "sender": {"phone": "+85251000123", "channelName": "ACME WhatsApp",
                       "sourceName": "360dialog"},
            "recipient": "+6581234567", "recipientCountry": "SG", "subject": "order_update_v2",
            "status": "Read", "failedReason": "",
            "lastUpdatedDateTime": "2026-11-13T09:12:00.000+00:00"} | overrides


def mapped(record: object, context: dict = SMS, region: str = "US"):
    return map_recipient(record, context, default_region=region)


def test_maps_an_sms_recipient_to_the_shared_model() -> None:
    event = mapped(sms_row())
    assert (event.source, event.channel, event.direction) == ("cinnox", "sms", "outbound")
    assert event.status_raw == "Submitted"
    # The status's own time (LastUpdatedDateTime); the send time stays an attribute.
    assert event.occurred_at == datetime(2026, 11, 13, 8, 0, 3, 250000, tzinfo=UTC)
    assert event.recipient == "+85291234567"
    assert event.message_id == HISTORY_ID
    assert event.campaign_id == "a1b2c3d4e5f6a1b2c3d4e5f6"  # the created campaign, not the sending
    assert event.campaign_name == "Flash Sale 13 Nov"
    assert (event.error_code, event.error_reason) == (None, None)
    assert event.event_id == make_event_id("cinnox", HISTORY_ID, "+85291234567")
    assert event.attributes == {
        "carrier_network_status": "Queued", "num_sms": 1, "recipient_country": "HK",
        "sender": {"phone": "ACME", "senderEID": "eid-0badcafe"}, "subject": None,
        "sent_at": "2026-11-13T08:00:00+00:00",
        "last_updated_at": "2026-11-13T08:00:03.250000+00:00",
    }


def test_maps_a_whatsapp_recipient_with_the_other_casing_of_last_updated() -> None:
    event = mapped(whatsapp_row(), WHATSAPP)
    assert event.channel == "whatsapp"
    assert event.status_raw == "Read"
    assert event.recipient == "+6581234567"
    assert event.campaign_name == "Order Updates 13 Nov"
    assert event.attributes["subject"] == "order_update_v2"
    assert event.attributes["sender"]["sourceName"] == "360dialog"
    assert event.attributes["last_updated_at"] == "2026-11-13T09:12:00+00:00"
    assert event.occurred_at == datetime(2026, 11, 13, 9, 12, tzinfo=UTC)  # when it was read
    assert event.attributes["num_sms"] is None and event.attributes["carrier_network_status"] is None


def test_both_casings_of_last_updated_are_read_and_normalized_to_utc() -> None:
    upper = mapped(sms_row(LastUpdatedDateTime="2026-11-13T16:00:00.000+08:00"))
    lower = sms_row(lastUpdatedDateTime="2026-11-13T08:00:00.000Z")
    del lower["LastUpdatedDateTime"]
    assert upper.attributes["last_updated_at"] == "2026-11-13T08:00:00+00:00"
    assert mapped(lower).attributes["last_updated_at"] == "2026-11-13T08:00:00+00:00"
    missing = sms_row()
    del missing["LastUpdatedDateTime"]
    assert mapped(missing).attributes["last_updated_at"] is None
    assert mapped(sms_row(LastUpdatedDateTime="soon")).attributes["last_updated_at"] is None


def test_channel_comes_from_the_summary_whatever_its_case() -> None:
    assert mapped(sms_row(), SMS | {"channel": "sms"}).channel == "sms"
    assert mapped(whatsapp_row(), SMS | {"channel": "Whatsapp"}).channel == "whatsapp"


@pytest.mark.parametrize(("value", "expected"), [
    ("Error Code: 7061120 - 360Dialog bad request", ("7061120", "360Dialog bad request")),
    ("Error Code: 7061123 360dialog unauthorized", ("7061123", "360dialog unauthorized")),
    ("Error Code: 3120410 - 360dialog whatsapp 24hr window error",
     ("3120410", "360dialog whatsapp 24hr window error")),
    ("error code:7061126-360dialog unknown error", ("7061126", "360dialog unknown error")),
    ("Error Code: 7061122", ("7061122", None)),
    ("7061124 - 360dialog forbidden", ("7061124", "360dialog forbidden")),
    ("360dialog internal server error", (None, "360dialog internal server error")),
    ("Recipient opted out", (None, "Recipient opted out")),
    (7061125, ("7061125", None)),
    ("", (None, None)),
    ("   ", (None, None)),
    (None, (None, None)),
])
def test_failed_reason_splits_into_code_and_reason(value: object, expected: tuple) -> None:
    assert parse_failed_reason(value) == expected


def test_a_failed_whatsapp_message_carries_its_error() -> None:
    event = mapped(whatsapp_row(status="Failed",
                                failedReason="Error Code: 7061120 - 360Dialog bad request"), WHATSAPP)
    assert (event.status_raw, event.error_code, event.error_reason) == (
        "Failed", "7061120", "360Dialog bad request")


@pytest.mark.parametrize(("recipient", "country", "expected"), [
    ("85291234567", "HK", "+85291234567"),
    ("+85291234567", "HK", "+85291234567"),
    (85291234567, "HK", "+85291234567"),
    ("91234567", "HK", "+85291234567"),  # national, read in the row's country
    ("6581234567", "SG", "+6581234567"),
    (6581234567, "SG", "+6581234567"),
    ("447912345678", "GB", "+447912345678"),
    ("07912345678", "gb", "+447912345678"),
    ("12125551234", "US", "+12125551234"),
    (12125551234.0, "US", "+12125551234"),
])
def test_international_numbers_use_the_recipient_country(recipient: object, country: str,
                                                         expected: str) -> None:
    assert mapped(sms_row(recipient=recipient, recipientCountry=country)).recipient == expected


def test_without_a_usable_country_the_default_region_is_used() -> None:
    for country in (None, "", "XX", 44):
        row = sms_row(recipient="2125551234", recipientCountry=country)
        assert mapped(row).recipient == "+12125551234"
    row = sms_row(recipient="91234567")
    del row["recipientCountry"]
    assert mapped(row, region="HK").recipient == "+85291234567"


def test_the_identity_is_the_sending_and_the_number_never_the_status() -> None:
    base = mapped(sms_row())
    same = {mapped(sms_row(recipient=number, status=status,
                           LastUpdatedDateTime="2026-11-14T00:00:00Z")).event_id
            for number in ("85291234567", "+85291234567", 85291234567)
            for status in ("Pending", "Submitted", "Delivered")}
    assert same == {base.event_id}
    assert mapped(sms_row(), SMS | {"history_id": "another"}).event_id != base.event_id
    assert mapped(sms_row(recipient="85291234568")).event_id != base.event_id
    assert mapped(sms_row(id="another-campaign")).event_id == base.event_id


def test_campaign_id_falls_back_to_the_history_id() -> None:
    row = sms_row()
    del row["id"]
    assert mapped(row).campaign_id == HISTORY_ID
    assert mapped(sms_row(id="")).campaign_id == HISTORY_ID


def test_the_row_date_is_the_send_time_and_the_campaign_date_stands_in_when_it_is_absent() -> None:
    row = sms_row(date="2026-11-13T16:15:00.500+08:00")
    del row["LastUpdatedDateTime"]  # no status time: the send time is the event's time
    assert mapped(row).occurred_at == datetime(2026, 11, 13, 8, 15, 0, 500_000, tzinfo=UTC)
    assert mapped(row).attributes["sent_at"] == "2026-11-13T08:15:00.500000+00:00"
    del row["date"]
    assert mapped(row).occurred_at == datetime(2026, 11, 13, 8, tzinfo=UTC)


@pytest.mark.parametrize(("recipient", "expected"), [
    ("6591234567", "+6591234567"),       # Singapore: never +1 659 123 4567
    ("85291234567", "+85291234567"),
    ("919812345670", "+919812345670"),
    (2348031234567, "+2348031234567"),
    ("15556667777", "+15556667777"),
    ("+447912345678", "+447912345678"),
])
def test_whatsapp_recipients_are_international_numbers_without_plus(recipient: object,
                                                                    expected: str) -> None:
    row = whatsapp_row(recipient=recipient)
    del row["recipientCountry"]  # the document gives the country for SMS campaigns only
    assert mapped(row, WHATSAPP).recipient == expected
    assert mapped(whatsapp_row(recipient=recipient, recipientCountry="US"), WHATSAPP).recipient == expected


def test_status_is_kept_verbatim() -> None:
    assert mapped(sms_row(status="Undelivered ")).status_raw == "Undelivered "
    assert mapped(sms_row(status=None)).status_raw is None


@pytest.mark.parametrize(("record", "context", "reason"), [
    (sms_row(recipient=None), SMS, "missing or malformed recipient"),
    (sms_row(recipient=True), SMS, "missing or malformed recipient"),
    (sms_row(recipient=["85291234567"]), SMS, "missing or malformed recipient"),
    (sms_row(recipient="not a number"), SMS, "not a phone number"),
    (sms_row(recipient=""), SMS, "not a phone number"),
    (sms_row(date="yesterday"), SMS, "unparseable timestamp"),
    (sms_row(date=None), SMS | {"campaign_date": None}, "missing"),
    (sms_row(), SMS | {"channel": "Email"}, "unknown campaign channel"),
    (sms_row(), SMS | {"channel": None}, "unknown campaign channel"),
    (sms_row(), {k: v for k, v in SMS.items() if k != "history_id"}, "no historyID"),
    ("just a string", SMS, "not a JSON object"),
    ([sms_row()], SMS, "not a JSON object"),
])
def test_unusable_records_are_rejected_with_a_reason(record: object, context: dict,
                                                     reason: str) -> None:
    with pytest.raises(RecordRejected, match=reason):
        mapped(record, context)


def test_a_huge_failed_reason_is_read_in_bounded_work() -> None:
    # Runs of spaces made the old pattern backtrack quadratically (40,000 spaces took 9 s;
    # these 400,000 would take hours). The text is capped and the pattern is linear.
    spaces = " " * 400_000
    code, reason = parse_failed_reason(f"Error Code: 7061120 - bad{spaces}request{spaces}!")
    assert code == "7061120" and reason == "bad"  # the rest lies beyond the cap
    code, reason = parse_failed_reason("Error Code: 7061120 - " + "x" * 400_000)
    assert code == "7061120" and len(reason) < 1_000
