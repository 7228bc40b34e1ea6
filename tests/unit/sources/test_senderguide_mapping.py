from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from pipelines.model.events import RecordRejected
from pipelines.sources.senderguide.mapping import map_interaction

NEW_YORK = ZoneInfo("America/New_York")
CONTEXT = {"message_id": "123", "interaction_type": "sends"}


def row(**overrides) -> dict:
    return {"contact_id": 111111, "contact_email": "Jane.Doe@Example.com",
            "send_date": "2023-05-15 20:04:59", "interaction_type": "sends",
            "interaction_date": "2023-05-15 20:04:59", "message_id": 123, "page_number": 1} | overrides


def mapped(record, zone=NEW_YORK, context=CONTEXT):
    return map_interaction(record, context, zone=zone)


def test_maps_a_send_to_the_shared_model() -> None:
    event = mapped(row())
    assert (event.source, event.channel, event.direction) == ("senderguide", "email", "outbound")
    assert event.status_raw == "sends"
    assert event.recipient == "jane.doe@example.com"
    assert event.occurred_at == datetime(2023, 5, 16, 0, 4, 59, tzinfo=UTC)  # EDT is UTC-4
    assert (event.message_id, event.campaign_id) == ("123", "123")
    assert event.attributes == {"contact_id": 111111, "send_date": "2023-05-16T00:04:59+00:00"}


def test_naive_times_follow_the_account_zone_across_dst() -> None:
    winter = mapped(row(interaction_date="2026-03-07 12:00:00"))
    summer = mapped(row(interaction_date="2026-03-09 12:00:00"))
    assert winter.occurred_at.hour == 17 and summer.occurred_at.hour == 16
    assert mapped(row(interaction_date="2026-03-07 12:00:00"), zone=UTC).occurred_at.hour == 12


def test_identity_is_email_contact_type_and_time() -> None:
    base = mapped(row())
    assert mapped(row(contact_email="JANE.DOE@EXAMPLE.COM")).event_id == base.event_id
    assert mapped(row(contact_id=111112)).event_id != base.event_id
    assert mapped(row(interaction_type="opens")).event_id != base.event_id
    assert mapped(row(interaction_date="2023-05-15 20:05:00")).event_id != base.event_id
    assert mapped(row(message_id=124)).event_id != base.event_id


def test_a_malformed_send_date_is_kept_as_received() -> None:
    assert mapped(row(send_date="soon")).attributes["send_date"] == "soon"


@pytest.mark.parametrize(("record", "reason"), [
    (row(contact_email="null"), "contact_email"),
    (row(contact_email=None), "contact_email"),
    (row(contact_id=None), "contact_id"),
    (row(interaction_date="2023-13-45 99:00:00"), "unparseable timestamp"),
    ([1, 2], "not a JSON object"),
])
def test_unusable_rows_are_rejected(record, reason) -> None:
    with pytest.raises(RecordRejected, match=reason):
        mapped(record)
