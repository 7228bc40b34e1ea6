"""Re-mapping stored raw records when a source's mapping rules change is a migration, not a
reload: a warehouse loaded under the previous rules (issue 11's corrections undone by hand
below) becomes exactly what a load under the current rules writes, and a rerun of the loads
afterwards changes nothing."""

from datetime import date

import orjson
import psycopg
from psycopg import sql

from pipelines.model.events import EVENT_COLUMNS, make_event_id
from pipelines.sources import registry
from tests.support import days_ago, events_snapshot, run_job, run_webex

# A WhatsApp recipient whose digits the previous rules read as a North-American number.
SINGAPORE = "6591234567"


def load_everything(day: date) -> None:
    for job in ("mgage_daily", "cinnox_daily", "senderguide_daily"):
        assert run_job(job, day.isoformat()).success, job
    assert run_webex().success


def without_load_times(rows: list[tuple]) -> list[tuple]:
    return [row[:-1] for row in rows]


def raw_ids(conn: psycopg.Connection) -> list[tuple[str, str]]:
    return conn.execute(" UNION ALL ".join(
        f"SELECT '{source.name}', record_id FROM {source.raw_table}" for source in registry())
        + " ORDER BY 1, 2").fetchall()


def add_a_whatsapp_recipient_as_the_previous_rules_stored_it(conn: psycopg.Connection) -> str:
    """A recipient row of a WhatsApp campaign, stored as the previous rules stored it:
    +1 659 123 4567, under the id those rules derived from it. Returns the campaign."""
    history_id, payload = conn.execute("""
        SELECT r.context->>'history_id', r.payload FROM raw.cinnox_campaign_recipients AS r
        ORDER BY r.record_id LIMIT 1""").fetchone()
    payload = {key: value for key, value in payload.items() if key != "recipientCountry"}
    old_id = make_event_id("cinnox", history_id, f"+1{SINGAPORE}")
    conn.execute("""
        INSERT INTO raw.cinnox_campaign_recipients (record_id, partition_date, context, payload)
        SELECT %(id)s, partition_date, context || '{"channel": "WhatsApp"}', %(payload)s
        FROM raw.cinnox_campaign_recipients WHERE context->>'history_id' = %(history)s LIMIT 1""",
                 {"id": old_id, "history": history_id,
                  "payload": orjson.dumps(payload | {"recipient": SINGAPORE}).decode()})
    replaced = {"event_id": sql.Placeholder("id"), "recipient": sql.Placeholder("old"),
                "recipient_pseudonym": sql.Literal("stale")}
    names = [column.name for column in EVENT_COLUMNS]
    conn.execute(sql.SQL("""
        INSERT INTO core.message_events ({names})
        SELECT {values} FROM core.message_events AS e
        WHERE e.source = 'cinnox' AND e.message_id = %(history)s LIMIT 1""").format(
        names=sql.SQL(", ").join(map(sql.Identifier, names)),
        values=sql.SQL(", ").join(replaced.get(name, sql.Identifier("e", name)) for name in names)),
        {"id": old_id, "old": f"+1{SINGAPORE}", "history": history_id})
    return history_id


def undo_the_corrections(conn: psycopg.Connection) -> None:
    """What the previous rules wrote, where the current ones differ."""
    conn.execute("""UPDATE core.message_events SET campaign_name = attributes->>'program_name'
                    WHERE source = 'mgage'""")
    conn.execute("""UPDATE core.message_events
                    SET occurred_at = (attributes->>'sent_at')::timestamptz,
                        attributes = attributes - 'sent_at',
                        event_type = CASE status_raw WHEN 'Pending' THEN 'queued' ELSE event_type END
                    WHERE source = 'cinnox'""")
    conn.execute("""UPDATE core.message_events
                    SET attributes = attributes || jsonb_build_object('link_transaction_id', linked_message_id),
                        linked_message_id = NULL,
                        direction = CASE WHEN status_raw LIKE 'EventProcessed%%' THEN 'inbound'
                                         ELSE direction END,
                        event_type = CASE WHEN status_raw IN ('DNDRemoval', 'EventProcessedSuccess')
                                          THEN 'received' ELSE event_type END
                    WHERE source = 'webex'""")


def test_a_warehouse_loaded_under_the_previous_rules_is_remapped_without_the_vendors(
        warehouse: psycopg.Connection, stack) -> None:
    day = days_ago(2)
    load_everything(day)
    expected_events = without_load_times(events_snapshot(warehouse))
    expected_raw = raw_ids(warehouse)

    history_id = add_a_whatsapp_recipient_as_the_previous_rules_stored_it(warehouse)
    undo_the_corrections(warehouse)
    assert without_load_times(events_snapshot(warehouse)) != expected_events

    remap = run_job("warehouse_remap")
    assert remap.success
    singapore = warehouse.execute(
        "SELECT event_id, recipient FROM core.message_events WHERE source = 'cinnox' AND recipient LIKE %s",
        (f"%{SINGAPORE}",)).fetchall()
    assert singapore == [(make_event_id("cinnox", history_id, f"+{SINGAPORE}"), f"+{SINGAPORE}")]
    # The corrected recipient is the only row beyond what a load under the current rules wrote.
    remapped = [row for row in events_snapshot(warehouse) if row[0] != singapore[0][0]]
    assert without_load_times(remapped) == expected_events
    assert [row for row in raw_ids(warehouse) if row[1] != singapore[0][0]] == expected_raw
    versions = dict(warehouse.execute("SELECT source, version FROM ops.mapping_versions").fetchall())
    assert versions == {source.name: source.mapping_version for source in registry()}

    # A rerun of the loads, and of the re-map, changes nothing.
    after = events_snapshot(warehouse)
    load_everything(day)
    assert run_job("warehouse_remap").success  # every source current: skipped
    warehouse.execute("DELETE FROM ops.mapping_versions")  # and re-mapped all the same
    assert run_job("warehouse_remap").success
    assert events_snapshot(warehouse) == after
