"""Which of a page's records a scope stages, quarantines or leaves to another scope."""

from datetime import UTC, date, datetime
from functools import partial

from pipelines.sources.mgage.mapping import map_message
from pipelines.transport.paging import Page
from pipelines.warehouse.loading import LoadScope, LoadStats, LoadTarget, Stamp, stage_rows

SCOPE = LoadScope.day(LoadTarget("mgage", "raw.mgage_messages", content_keyed=True), date(2026, 11, 30))
CONTEXT = {"program_id": "121811", "message_type": "MT"}
MAPPER = partial(map_message, default_region="US")


def message(**overrides) -> dict:
    return {"type": "MT", "deliveryStatus": "Sent", "number": "15556667777", "body": "Hi",
            "date": "2026-11-30T10:00:00.00"} | overrides


def staged(*records: dict, scope: LoadScope = SCOPE) -> tuple[list[tuple], LoadStats]:
    stats = LoadStats("mgage", scope.key)
    rows = list(stage_rows(Page(list(records), CONTEXT), MAPPER, scope, stats, Stamp("test-pii-key")))
    return rows, stats


def test_identical_records_of_a_content_keyed_page_stay_distinct_and_stable() -> None:
    # A doubled STOP: same number, same second, same body. Two messages, two rows.
    stop = message(type="MO", deliveryStatus="Received", body="STOP")
    rows, stats = staged(stop, message(), stop, stop)
    ids = [row[0] for row in rows]
    assert len(set(ids)) == 4 and stats.quarantined == 0
    assert ids[0] == MAPPER(stop, CONTEXT).event_id  # the first keeps the id it always had
    assert [row[0] for row in staged(stop, message(), stop, stop)[0]] == ids  # a rerun: same ids


def test_a_record_repeated_on_another_page_is_the_same_record() -> None:
    first, _ = staged(message(), message(body="other"))
    again, _ = staged(message())
    assert again[0][0] == first[0][0]


def test_records_with_a_vendor_id_are_never_split_by_occurrence() -> None:
    by_id = LoadScope.day(LoadTarget("mgage", "raw.mgage_messages"), date(2026, 11, 30))
    rows, _ = staged(message(), message(), scope=by_id)
    assert rows[0][0] == rows[1][0]  # the same record twice: merged as last seen


def test_a_broken_record_of_the_day_is_quarantined() -> None:
    rows, stats = staged(message(number="null"))
    assert (stats.quarantined, stats.out_of_window, len(rows)) == (1, 0, 1)
    assert rows[0][4] == "not a phone number"  # a category: the value stays in the payload


def test_a_broken_record_dated_on_another_day_is_left_to_that_days_partition() -> None:
    # The window's end is asked inclusively, so the next day's first message comes back; if it
    # is broken, it is quarantined by its own day's load, which loads it once corrected.
    rows, stats = staged(message(number="null", date="2026-12-01T00:00:00.00"),
                         message(date="2026-12-01T00:00:00.00"))
    assert (stats.quarantined, stats.out_of_window, rows) == (0, 2, [])


def test_a_record_whose_date_cannot_be_read_is_quarantined_where_it_was_seen() -> None:
    rows, stats = staged(message(date="32/13/2026 25:61", number="null"))
    assert (stats.quarantined, stats.out_of_window, len(rows)) == (1, 0, 1)
    assert SCOPE.window == (datetime(2026, 11, 30, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
