"""A fresh load's routing (pipelines/warehouse/fresh.py): which staged rows may be COPYed
straight into the tables, and as what."""

from datetime import UTC, date, datetime
from functools import partial

from pipelines.sources.mgage.mapping import map_message
from pipelines.transport.paging import Page
from pipelines.warehouse.event_sql import WRITTEN_COLUMNS
from pipelines.warehouse.fresh import EventTypes, FreshLoad, SentIds, event_day
from pipelines.warehouse.loading import LoadScope, LoadStats, LoadTarget, Stamp, stage_rows

DAY = date(2026, 11, 30)
SCOPE = LoadScope.day(LoadTarget("mgage", "raw.mgage_messages", content_keyed=True), DAY)
MAPPER = partial(map_message, default_region="US")
KNOWN = [("sms", "Sent", "sent"), ("sms", "Delivered", "delivered"), ("sms", "", "unknown")]


def staged(**overrides: str) -> tuple:
    message = {"type": "MT", "deliveryStatus": "Sent", "number": "15556667777", "body": "Hi",
               "date": "2026-11-30T10:00:00.00"} | overrides
    page = Page([message], {"program_id": "121811", "message_type": "MT"})
    (row,) = stage_rows(page, MAPPER, SCOPE, LoadStats("mgage", SCOPE.key), Stamp("test-pii-key"))
    return row


def test_sent_ids_are_never_forgotten_and_rarely_confused() -> None:
    sent = SentIds()
    assert not sent.add("mgage:a")
    assert sent.add("mgage:a")
    # 100,000 other ids: a false "maybe sent" expected about 40 times; far more would be a bug.
    assert sum(sent.add(f"mgage:{n:032x}") for n in range(100_000)) < 200


def test_event_types_read_no_status_as_the_empty_one() -> None:
    types = EventTypes(KNOWN)
    assert (types.get("sms", "Sent"), types.get("sms", None), types.get("email", "Sent")) == (
        "sent", "unknown", None)
    types.learn([("email", "Sent", "sent")])
    assert types.get("email", "Sent") == "sent"


def test_a_new_record_with_a_known_status_goes_direct_with_its_event_type() -> None:
    row = staged()
    raw, event = FreshLoad(EventTypes(KNOWN)).direct_rows(row)
    assert raw == row[:4]  # record id, partition day, context, payload
    written = dict(zip(WRITTEN_COLUMNS, event, strict=True))
    assert (written["event_id"], written["event_type"], written["status_raw"], written["partition_date"]) == (
        row[0], "sent", "Sent", DAY)
    assert (written["recipient"], written["campaign_id"], written["channel"]) == ("+15556667777", "121811", "sms")
    assert written["recipient_pseudonym"].startswith("pii:")
    assert event_day(event) == DAY


def test_a_repeat_or_an_unknown_status_or_a_rejection_goes_the_merges_way() -> None:
    fresh = FreshLoad(EventTypes(KNOWN))
    assert fresh.direct_rows(staged()) is not None
    assert fresh.direct_rows(staged(deliveryStatus="Delivered")) is None  # the same message again
    # A status the map spells otherwise is staged, and its id remembered: a later repeat of the
    # record, whatever its status, must merge over the staged one, not be COPYed beside it.
    odd = staged(body="other", deliveryStatus=" sent ")
    assert fresh.direct_rows(odd) is None
    assert fresh.direct_rows(staged(body="other")) is None
    rejected = (*staged(body="third")[:4], "not a phone number", *staged()[5:])
    assert fresh.direct_rows(rejected) is None


def test_event_day_is_the_utc_day() -> None:
    event = [None] * len(WRITTEN_COLUMNS)
    event[WRITTEN_COLUMNS.index("occurred_at")] = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    assert event_day(tuple(event)) == DAY
