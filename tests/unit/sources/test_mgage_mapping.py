from datetime import UTC, datetime

import pytest

from pipelines.model.events import RecordRejected
from pipelines.sources.mgage.mapping import DAY_IN_KEY, map_message

CONTEXT = {"program_id": "121811", "message_type": "MT", "program_name": "Program Name",
           "program_type": "Text to Join", "campaign_name": "Default Campaign"}


def message(**overrides) -> dict:
    return {"type": "MT", "deliveryStatus": "Sent", "number": "15556667777",
            "body": "This is complete message Body", "date": "2014-12-05T10:00:00.00",
            "network": "T-Mobile"} | overrides


def mapped(record: dict, context: dict = CONTEXT):
    return map_message(record, context, default_region="US")


def test_maps_an_mt_message_to_the_shared_model() -> None:
    event = mapped(message())
    assert event.source == "mgage" and event.channel == "sms"
    assert event.direction == "outbound"
    assert event.status_raw == "Sent"
    assert event.occurred_at == datetime(2014, 12, 5, 10, tzinfo=UTC)
    assert event.recipient == "+15556667777"
    # The campaign and the program keep their own names (the document's example).
    assert (event.campaign_id, event.campaign_name) == ("121811", "Default Campaign")
    assert event.message_id is None
    assert event.attributes["network"] == "T-Mobile"
    assert event.attributes["program_name"] == "Program Name"


def test_mo_messages_are_inbound() -> None:
    event = mapped(message(type="MO", deliveryStatus="Received", number="1234567890"),
                   CONTEXT | {"message_type": "MO"})
    assert event.direction == "inbound"
    assert event.recipient == "+11234567890"


def test_status_is_not_part_of_the_identity() -> None:
    assert mapped(message(deliveryStatus="Sent")).event_id == mapped(message(deliveryStatus="Delivered")).event_id


def test_national_numeric_and_country_code_forms_are_one_recipient() -> None:
    ids = {mapped(message(number=number)).event_id
           for number in ("15556667777", "5556667777", 15556667777, "+15556667777")}
    assert len(ids) == 1


def test_the_same_instant_in_another_spelling_is_the_same_event() -> None:
    with_centiseconds = mapped(message(date="2014-12-05T10:00:00.00"))
    assert with_centiseconds.event_id == mapped(message(date="2014-12-05T10:00:00")).event_id


def test_different_messages_have_different_ids() -> None:
    base = mapped(message())
    assert mapped(message(body="other")).event_id != base.event_id
    assert mapped(message(date="2014-12-05T10:00:01")).event_id != base.event_id
    assert mapped(message(), CONTEXT | {"program_id": "999"}).event_id != base.event_id


def test_a_message_on_another_utc_day_is_another_record() -> None:
    """What lets its loads skip the look-up for records moved between days (DAY_IN_KEY): one
    key, one instant, so one UTC day."""
    before, after = mapped(message(date="2014-12-05T23:59:59")), mapped(message(date="2014-12-06T00:00:00"))
    assert DAY_IN_KEY and before.event_id != after.event_id
    assert (before.occurred_at.date(), after.occurred_at.date()) == (datetime(2014, 12, 5).date(),
                                                                     datetime(2014, 12, 6).date())


def test_type_falls_back_to_the_requested_type() -> None:
    record = message()
    del record["type"]
    assert mapped(record, CONTEXT | {"message_type": "MO"}).direction == "inbound"


@pytest.mark.parametrize(("record", "reason"), [
    (message(number="not a number"), "not a phone number"),
    (message(number="null"), "not a phone number"),
    (message(number=None), "missing or malformed number"),
    (message(date="yesterday"), "unparseable timestamp"),
    (message(date=None), "missing"),
    (message(type="XX"), "unknown message type"),
    ("just a string", "not a JSON object"),
])
def test_unusable_records_are_rejected_with_a_reason(record: object, reason: str) -> None:
    with pytest.raises(RecordRejected, match=reason):
        mapped(record)
