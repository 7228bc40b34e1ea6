from pipelines.model.events import MAPPED_COLUMNS, MessageEvent, make_event_id


def test_event_id_is_stable_and_prefixed_by_source() -> None:
    first = make_event_id("mgage", "1001", "MT", "+15556667777", "2026-11-20T10:00:00+00:00", "hi")
    again = make_event_id("mgage", "1001", "MT", "+15556667777", "2026-11-20T10:00:00+00:00", "hi")
    assert first == again
    assert first.startswith("mgage:") and len(first) == len("mgage:") + 32


def test_every_key_part_matters_and_parts_do_not_run_together() -> None:
    base = make_event_id("mgage", "1001", "MT", "+15556667777", "t", "hi")
    assert make_event_id("mgage", "1002", "MT", "+15556667777", "t", "hi") != base
    assert make_event_id("mgage", "1001", "MO", "+15556667777", "t", "hi") != base
    assert make_event_id("senderguide", "1001", "MT", "+15556667777", "t", "hi") != base
    assert make_event_id("x", "ab", "c") != make_event_id("x", "a", "bc")
    assert make_event_id("x", None, "a") != make_event_id("x", "None", "a")


def test_a_mapper_produces_exactly_the_mapped_columns_in_their_order() -> None:
    # The loader stages an event's fields positionally (its attributes as JSON).
    assert MessageEvent._fields == MAPPED_COLUMNS
