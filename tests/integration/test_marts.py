"""The mart tables against the real embedded Postgres, on a small fixed data set loaded through
the real load path (so the status history and the days to refresh are the loads' own), with
every expected number worked out by hand below. Then: the incremental refresh equals a rebuild,
the reporting zone moves days and hours, the marts refresh as a Dagster asset with their
metadata, and the analyst role reads them and never a clear recipient.

The data set, Monday 16 and Tuesday 17 November 2026 (UTC):

  mGage SMS, program P1 "Program One" (network in brackets)
    m1  +1...01  10:00  Sent, then Delivered (a load sees it at 10:02)  [T-Mobile]
    m2  +1...02  10:05  Delivered (first seen so)                        [T-Mobile]
    m3  +1...03  23:30  Undelivered                                      [Verizon]
    m4  +1...04  17th 03:00  Error                                       [T-Mobile]
    mo1..mo4 inbound from +1...01..04 at 12:00, 12:30, 13:00, 13:30, bodies " stop ",
        "Stop All", "YES", "Please stop sending": the first two are stop replies
  CINNOX WhatsApp, campaign C1 "Winter", sent 09:00 (history H1)
    c1  +1...01  Pending 09:00, then Delivered 09:01, then Read 09:10 (the vendor's times)
    c2  +1...05  Delivered 09:03 (first seen so)
    c3  +1...06  Failed 09:02, "Error Code: 7061120 - 360Dialog bad request", carrier Undelivered
  Webex, campaign W1 "Promo"
    w1  ann@  email T1  14:00 Successfully delivered;  w2 opens it (15:00), w3 clicks it (15:30)
    w4  +1...07 inbound SMS  16:00 DNDAddition;  w5  the same, 17th 16:00, DNDRemoval
    w6  bob@  inbound email 17:00 Email Unsubscribe
    w7  +1...08 SMS T7 18:00 Failed to deliver (error E42 "Failure")
  SenderGuide email 7001
    s1  cat@ sends 08:00, s2 opens 08:30, s3 unsubscribes 08:45;  s4 dan@ sends 08:00, s5 bounces 08:05
"""

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import pytest
from dagster import AssetKey, DagsterInstance
from psycopg import sql

from local_stack.launcher import LocalStack
from pipelines.definitions import defs
from pipelines.model.events import MessageEvent, make_event_id
from pipelines.transport.paging import Page
from pipelines.warehouse.loading import LoadScope, LoadTarget, Stamp, load_pages
from pipelines.warehouse.mart_refresh import MART_TABLES, MartRefresh, refresh_marts
from pipelines.warehouse.retention import ContentFields, purge_content
from pipelines.warehouse.urls import libpq_url
from tests.integration.test_roles import login, refused
from tests.support import materialization_metadata

STAMP = Stamp(pii_key="marts-test-key")
MONDAY, TUESDAY = date(2026, 11, 16), date(2026, 11, 17)
TARGETS = {"mgage": "raw.mgage_messages", "cinnox": "raw.cinnox_campaign_recipients",
           "webex": "raw.webex_transactions", "senderguide": "raw.senderguide_interactions"}
PHONE = "+1555000000{}".format
RECIPIENTS = [PHONE(n) for n in range(1, 9)] + [f"{name}@example.com" for name in ("ann", "bob", "cat", "dan")]


def at(hhmm: str, day: date = MONDAY) -> datetime:
    return datetime.combine(day, datetime.strptime(hhmm, "%H:%M").time(), UTC)


def rec(key: str, source: str, channel: str, status: str, when: datetime, recipient: str, *,
        direction: str = "outbound", campaign: str | None = None, name: str | None = None,
        message_id: str | None = None, linked: str | None = None, error: tuple[str, str] | None = None,
        **attributes: Any) -> dict[str, Any]:
    """A vendor record as the fake mapper reads it (the raw payload is this record)."""
    return {"id": key, "source": source, "channel": channel, "direction": direction,
            "status": status, "at": when.isoformat(), "recipient": recipient,
            "campaign": campaign, "name": name, "message_id": message_id, "linked": linked,
            "error": error, "attributes": attributes, "body": attributes.pop("body", None)}


def map_record(record: dict[str, Any], context: dict[str, Any]) -> MessageEvent:
    error_code, error_reason = record["error"] or (None, None)
    return MessageEvent(
        event_id=make_event_id(record["source"], record["id"]), source=record["source"],
        channel=record["channel"], direction=record["direction"], status_raw=record["status"],
        occurred_at=datetime.fromisoformat(record["at"]), recipient=record["recipient"],
        campaign_id=record["campaign"], campaign_name=record["name"], message_id=record["message_id"],
        error_code=error_code, error_reason=error_reason, attributes=record["attributes"],
        linked_message_id=record["linked"])


def mgage(key: str, status: str, when: datetime, n: int, network: str = "T-Mobile", **more: Any) -> dict:
    return rec(key, "mgage", "sms", status, when, PHONE(n), campaign="P1", name="Program One",
               network=network, **more)


def mo(key: str, when: datetime, n: int, body: str) -> dict:
    return rec(key, "mgage", "sms", "Received", when, PHONE(n), direction="inbound", campaign="P1",
               name="Program One", network="T-Mobile", body=body)


def cinnox(key: str, status: str, when: datetime, n: int, **more: Any) -> dict:
    return rec(key, "cinnox", "whatsapp", status, when, PHONE(n), campaign="C1", name="Winter",
               message_id="H1", sent_at=at("09:00").isoformat(), **more)


def webex(key: str, channel: str, status: str, when: datetime, recipient: str, **more: Any) -> dict:
    return rec(key, "webex", channel, status, when, recipient, campaign="W1", name="Promo",
               message_id=key, **more)


def senderguide(key: str, status: str, when: datetime, who: str) -> dict:
    return rec(key, "senderguide", "email", status, when, f"{who}@example.com", campaign="7001",
               message_id="7001")


FIRST_LOAD = [
    mgage("m1", "Sent", at("10:00"), 1), mgage("m2", "Delivered", at("10:05"), 2),
    mgage("m3", "Undelivered", at("23:30"), 3, network="Verizon"),
    mgage("m4", "Error", at("03:00", TUESDAY), 4),
    mo("mo1", at("12:00"), 1, " stop "), mo("mo2", at("12:30"), 2, "Stop All"),
    mo("mo3", at("13:00"), 3, "YES"), mo("mo4", at("13:30"), 4, "Please stop sending"),
    cinnox("c1", "Pending", at("09:00"), 1), cinnox("c2", "Delivered", at("09:03"), 5),
    cinnox("c3", "Failed", at("09:02"), 6, error=("7061120", "360Dialog bad request"),
           carrier_network_status="Undelivered"),
    webex("T1", "email", "Successfully delivered to the Customer", at("14:00"), "ann@example.com"),
    webex("T2", "email", "Email,Opened", at("15:00"), "ann@example.com", linked="T1"),
    webex("T3", "email", "Email, LinkClicked", at("15:30"), "ann@example.com", linked="T1"),
    webex("T4", "sms", "DNDAddition", at("16:00"), PHONE(7), direction="inbound"),
    webex("T5", "sms", "DNDRemoval", at("16:00", TUESDAY), PHONE(7), direction="inbound"),
    webex("T6", "email", "Email Unsubscribe", at("17:00"), "bob@example.com", direction="inbound"),
    webex("T7", "sms", "Failed to deliver to the Customer", at("18:00"), PHONE(8), error=("E42", "Failure")),
    senderguide("s1", "sends", at("08:00"), "cat"), senderguide("s2", "opens", at("08:30"), "cat"),
    senderguide("s3", "unsubscribes", at("08:45"), "cat"), senderguide("s4", "sends", at("08:00"), "dan"),
    senderguide("s5", "bounces", at("08:05"), "dan"),
]
SECOND_LOAD = [mgage("m1", "Delivered", at("10:00"), 1), cinnox("c1", "Delivered", at("09:01"), 1)]
THIRD_LOAD = [cinnox("c1", "Read", at("09:10"), 1)]


def load(conn: psycopg.Connection, records: list[dict[str, Any]], run_id: str) -> None:
    """The records, one scope per source (rows take their UTC day as partition), through the
    product's load path."""
    by_source: dict[str, list[dict]] = {}
    for record in records:
        by_source.setdefault(record["source"], []).append(record)
    for source, batch in by_source.items():
        scope = LoadScope(LoadTarget(source, TARGETS[source]), f"test:{source}", complete=False)
        load_pages(conn, scope, [Page(batch, {})], map_record, stamp=STAMP, run_id=run_id,
                   record_state=lambda *state: None)


@pytest.fixture
def loader(warehouse: psycopg.Connection, stack: LocalStack) -> Iterator[psycopg.Connection]:
    """The product's own login on an emptied warehouse: no history, marks, marts or refreshes."""
    warehouse.execute(sql.SQL("TRUNCATE core.status_history, core.stop_replies, ops.mart_dirty_days, "
                              "ops.mart_refreshes, {}").format(
        sql.SQL(", ").join(sql.Identifier("marts", table) for table in MART_TABLES)))
    with psycopg.connect(libpq_url(stack.warehouse_url), autocommit=True) as conn:
        yield conn


@pytest.fixture
def loaded(loader: psycopg.Connection, warehouse: psycopg.Connection) -> psycopg.Connection:
    """The data set, in three loads; m1's change seen by a load at 10:02."""
    load(loader, FIRST_LOAD, "run-1")
    load(loader, SECOND_LOAD, "run-2")
    load(loader, THIRD_LOAD, "run-3")
    warehouse.execute("UPDATE core.status_history SET observed_at = %s WHERE event_id = %s",
                      (at("10:02"), make_event_id("mgage", "m1")))
    return loader


def refresh(conn: psycopg.Connection, zone: str = "UTC", **options: Any) -> MartRefresh:
    """A refresh of the mart tables on a connection of its own, as the asset makes it."""
    with psycopg.connect(conn.info.dsn, password=conn.info.password) as own:
        return refresh_marts(own, zone, run_id="test-run", **options)


def rows(conn: psycopg.Connection, query: str, *params: Any) -> list[tuple]:
    return conn.execute(query, params).fetchall()


def test_volume_by_day_and_hour_in_utc(loaded: psycopg.Connection) -> None:
    result = refresh(loaded)
    assert (result.full, result.reason, result.utc_days) == (True, "first refresh", [MONDAY, TUESDAY])
    # Monday: 3 + 4 mGage, 3 CINNOX, 6 Webex, 5 SenderGuide events; Tuesday: m4 and w5.
    assert rows(loaded, "SELECT day, sum(events) FROM marts.volume_daily WHERE time_zone = 'UTC' "
                        "GROUP BY day ORDER BY day") == [(MONDAY, 21), (TUESDAY, 2)]
    assert rows(loaded, """
        SELECT source, channel, direction, event_type, events, recipients, first_event_at, last_event_at
        FROM marts.volume_daily WHERE time_zone = 'UTC' AND day = %s AND source = 'mgage'
        ORDER BY direction, event_type""", MONDAY) == [
        ("mgage", "sms", "inbound", "received", 4, 4, at("12:00"), at("13:30")),
        ("mgage", "sms", "outbound", "delivered", 2, 2, at("10:00"), at("10:05")),  # m1 and m2
        ("mgage", "sms", "outbound", "undelivered", 1, 1, at("23:30"), at("23:30"))]
    assert rows(loaded, "SELECT count(*) FROM marts.volume_daily") == [(18,)]  # 16 Monday, 2 Tuesday
    # Hours: m1 and m2 in 10:00; the replies two by two in 12:00 and 13:00.
    assert rows(loaded, """
        SELECT hour_start, day, hour_of_day, direction, event_type, events, recipients
        FROM marts.volume_hourly WHERE time_zone = 'UTC' AND source = 'mgage' AND day = %s
        ORDER BY hour_start, direction, event_type""", MONDAY) == [
        (at("10:00"), MONDAY, 10, "outbound", "delivered", 2, 2),
        (at("12:00"), MONDAY, 12, "inbound", "received", 2, 2),
        (at("13:00"), MONDAY, 13, "inbound", "received", 2, 2),
        (at("23:00"), MONDAY, 23, "outbound", "undelivered", 1, 1)]


def test_volume_failures_and_engagement_in_the_reporting_zone(loaded: psycopg.Connection) -> None:
    """New York is UTC-5 in November: m4 (03:00 UTC Tuesday) is Monday 22:00 there."""
    refresh(loaded, "America/New_York")
    assert rows(loaded, "SELECT time_zone, day, sum(events) FROM marts.volume_daily "
                        "GROUP BY 1, 2 ORDER BY 1, 2") == [
        ("America/New_York", MONDAY, 22), ("America/New_York", TUESDAY, 1),
        ("UTC", MONDAY, 21), ("UTC", TUESDAY, 2)]
    assert rows(loaded, """
        SELECT hour_start, hour_of_day, events FROM marts.volume_hourly
        WHERE time_zone = 'America/New_York' AND source = 'mgage' AND event_type = 'failed'""") == [
        (at("03:00", TUESDAY), 22, 1)]
    # Monday's T-Mobile messages in New York: m1, m2 and m4, one of which failed.
    assert rows(loaded, """
        SELECT day, status_raw, failures, messages, failure_rate::float FROM marts.failures_daily
        WHERE source = 'mgage' AND network = 'T-Mobile'""") == [(MONDAY, "Error", 1, 3, 0.3333)]
    # The replies at 12:00-13:30 UTC are at 7 and 8 in the morning there.
    assert rows(loaded, """
        SELECT hour_of_day, events FROM marts.engagement_by_hour
        WHERE source = 'mgage' ORDER BY hour_of_day""") == [(7, 2), (8, 2)]


def test_failures_by_code_reason_and_network_with_rates(loaded: psycopg.Connection) -> None:
    refresh(loaded)
    assert rows(loaded, """
        SELECT day, source, channel, network, carrier_status, event_type, status_raw, error_code,
               error_reason, failures, messages, failure_rate::float
        FROM marts.failures_daily ORDER BY day, source, channel, network""") == [
        # 3 WhatsApp messages (c1, c2, c3), one failed.
        (MONDAY, "cinnox", "whatsapp", None, "Undelivered", "failed", "Failed", "7061120",
         "360Dialog bad request", 1, 3, 0.3333),
        # m1 and m2 on T-Mobile, neither failed: the denominator is there all the same.
        (MONDAY, "mgage", "sms", "T-Mobile", None, None, None, None, None, 0, 2, 0.0),
        # m3 is Verizon's only message.
        (MONDAY, "mgage", "sms", "Verizon", None, "undelivered", "Undelivered", None, None, 1, 1, 1.0),
        # A bounce and its send are one message: cat's and dan's, one bounced.
        (MONDAY, "senderguide", "email", None, None, "bounced", "bounces", None, None, 1, 2, 0.5),
        # T1 and its open and click are one message, delivered.
        (MONDAY, "webex", "email", None, None, None, None, None, None, 0, 1, 0.0),
        # T7 is Webex's only outbound SMS (T4 is inbound).
        (MONDAY, "webex", "sms", None, None, "undelivered", "Failed to deliver to the Customer",
         "E42", "Failure", 1, 1, 1.0),
        (TUESDAY, "mgage", "sms", "T-Mobile", None, "failed", "Error", None, None, 1, 1, 1.0)]


def test_engagement_by_hour_of_day_and_weekday(loaded: psycopg.Connection) -> None:
    refresh(loaded)
    assert rows(loaded, """
        SELECT day, weekday, weekday_name, hour_of_day, source, channel, event_type, events, recipients
        FROM marts.engagement_by_hour ORDER BY hour_of_day, source, event_type""") == [
        (MONDAY, 1, "Monday", 8, "senderguide", "email", "opened", 1, 1),   # s2
        (MONDAY, 1, "Monday", 9, "cinnox", "whatsapp", "opened", 1, 1),     # c1 read at 09:10
        (MONDAY, 1, "Monday", 12, "mgage", "sms", "received", 2, 2),        # mo1, mo2
        (MONDAY, 1, "Monday", 13, "mgage", "sms", "received", 2, 2),        # mo3, mo4
        (MONDAY, 1, "Monday", 15, "webex", "email", "clicked", 1, 1),       # w3
        (MONDAY, 1, "Monday", 15, "webex", "email", "opened", 1, 1)]        # w2


def test_opt_outs_per_day_and_campaign(loaded: psycopg.Connection) -> None:
    refresh(loaded)
    assert rows(loaded, """
        SELECT day, source, channel, campaign_id, campaign_name, unsubscribes, dnd_additions,
               dnd_removals, stop_replies, opt_outs, opted_out_recipients
        FROM marts.opt_outs_daily ORDER BY day, source, channel""") == [
        # " stop " and "Stop All" are stop words; "YES" and "Please stop sending" are not.
        (MONDAY, "mgage", "sms", "P1", "Program One", 0, 0, 0, 2, 2, 2),
        (MONDAY, "senderguide", "email", "7001", None, 1, 0, 0, 0, 1, 1),
        (MONDAY, "webex", "email", "W1", "Promo", 1, 0, 0, 0, 1, 1),
        (MONDAY, "webex", "sms", "W1", "Promo", 0, 1, 0, 0, 1, 1),
        (TUESDAY, "webex", "sms", "W1", "Promo", 0, 0, 1, 0, 0, 0)]


def test_stop_replies_are_still_counted_once_retention_removed_the_bodies(
        loaded: psycopg.Connection, warehouse: psycopg.Connection) -> None:
    refresh(loaded)
    purge_content(warehouse, [ContentFields("mgage", "raw.mgage_messages", ("body",))], TUESDAY + timedelta(days=30))
    assert rows(warehouse, "SELECT count(*) FROM raw.mgage_messages WHERE payload ? 'body'") == [(0,)]
    refresh(loaded, full=True)
    assert rows(loaded, "SELECT sum(stop_replies) FROM marts.opt_outs_daily") == [(2,)]


def test_time_to_delivery_and_first_engagement_per_message(loaded: psycopg.Connection) -> None:
    refresh(loaded)
    latency = {event_id: row for event_id, *row in rows(loaded, """
        SELECT event_id, sent_at, delivered, delivered_at, delivery_time_basis, seconds_to_delivery,
               engaged, first_engaged_at, engagement_time_basis, seconds_to_first_engagement,
               current_event_type, transitions
        FROM marts.message_latency""")}
    mg, cx, wx, sg = (lambda key, source=source: make_event_id(source, key)
                      for source in ("mgage", "cinnox", "webex", "senderguide"))
    assert latency == {
        # Seen as Sent, then delivered by the load at 10:02 (mGage dates no status).
        mg("m1"): [at("10:00"), True, at("10:02"), "observed", 120.0, False, None, None, None, "delivered", 1],
        # First seen delivered: delivered, but when is unknown.
        mg("m2"): [at("10:05"), True, None, None, None, False, None, None, None, "delivered", 0],
        mg("m3"): [at("23:30"), False, None, None, None, False, None, None, None, "undelivered", 0],
        mg("m4"): [at("03:00", TUESDAY), False, None, None, None, False, None, None, None, "failed", 0],
        # CINNOX dates its statuses: delivered 09:01, read 09:10, sent 09:00.
        cx("c1"): [at("09:00"), True, at("09:01"), "vendor", 60.0, True, at("09:10"), "vendor", 600.0, "opened", 2],
        cx("c2"): [at("09:00"), True, at("09:03"), "vendor", 180.0, False, None, None, None, "delivered", 0],
        cx("c3"): [at("09:00"), False, None, None, None, False, None, None, None, "failed", 0],
        # T1 was first seen delivered (no time); its open (T2) is at 15:00, an hour after the send.
        wx("T1"): [at("14:00"), True, None, None, None, True, at("15:00"), "vendor", 3600.0, "delivered", 0],
        wx("T7"): [at("18:00"), False, None, None, None, False, None, None, None, "undelivered", 0],
        # No delivery is reported for email; the open at 08:30 implies it.
        sg("s1"): [at("08:00"), True, at("08:30"), "vendor", 1800.0, True, at("08:30"), "vendor", 1800.0, "sent", 0],
        sg("s4"): [at("08:00"), False, None, None, None, False, None, None, None, "sent", 0],
    }


def test_a_change_seen_before_the_send_gives_no_time(loader: psycopg.Connection,
                                                     warehouse: psycopg.Connection) -> None:
    """A load that saw a delivery earlier than the time its send is dated (a vendor dating its
    messages ahead): delivered, at no known time, never a negative latency."""
    load(loader, [mgage("m9", "Sent", at("10:00"), 9)], "run-1")
    load(loader, [mgage("m9", "Delivered", at("10:00"), 9)], "run-2")
    warehouse.execute("UPDATE core.status_history SET observed_at = %s", (at("09:59"),))
    refresh(loader)
    assert rows(loader, "SELECT delivered, delivered_at, delivery_time_basis, seconds_to_delivery "
                        "FROM marts.message_latency") == [(True, None, None, None)]


def test_campaign_latency_percentiles_beside_the_funnel(loaded: psycopg.Connection) -> None:
    refresh(loaded)
    campaigns = {(source, channel, campaign): row for source, channel, campaign, *row in rows(loaded, """
        SELECT source, channel, campaign_id, messages, delivered, timed_deliveries,
               delivery_p50_seconds, delivery_p90_seconds, delivery_p95_seconds, delivery_p99_seconds,
               engaged, timed_engagements, engagement_p50_seconds, engagement_p90_seconds
        FROM marts.campaign_delivery_latency""")}
    # C1's two timed deliveries, 60 s and 180 s, interpolate: p = 60 + q * 120.
    assert campaigns[("cinnox", "whatsapp", "C1")] == [3, 2, 2, 120.0, 168.0, 174.0, pytest.approx(178.8),
                                                       1, 1, 600.0, 600.0]
    assert campaigns[("mgage", "sms", "P1")] == [4, 2, 1, 120.0, 120.0, 120.0, 120.0, 0, 0, None, None]
    assert campaigns[("webex", "email", "W1")] == [1, 1, 0, None, None, None, None, 1, 1, 3600.0, 3600.0]
    assert campaigns[("webex", "sms", "W1")] == [1, 0, 0, None, None, None, None, 0, 0, None, None]
    assert campaigns[("senderguide", "email", "7001")] == [2, 1, 1, 1800.0, 1800.0, 1800.0, 1800.0,
                                                           1, 1, 1800.0, 1800.0]
    assert len(campaigns) == 5
    # The funnel beside it is the same key.
    funnel = {row[:3] for row in rows(loaded, "SELECT source, channel, campaign_id FROM marts.campaign_performance")}
    assert set(campaigns) <= funnel


def test_one_row_per_recipient_with_their_latest_activity_per_channel(loaded: psycopg.Connection) -> None:
    refresh(loaded)
    assert rows(loaded, "SELECT count(*) FROM marts.customer_360") == [(len(RECIPIENTS),)]
    by_pseudonym = dict(rows(loaded, "SELECT DISTINCT recipient, recipient_pseudonym FROM core.message_events"))
    customer = {by_pseudonym[PHONE(1)]: "+1...01", by_pseudonym[PHONE(7)]: "+1...07",
                by_pseudonym["cat@example.com"]: "cat"}
    found = {customer[pseudonym]: row for pseudonym, *row in rows(loaded, """
        SELECT recipient_pseudonym, sources, channels, events, first_activity_at, last_activity_at,
               last_outbound_at, last_inbound_at, last_engagement_at, last_opt_out_at,
               last_opt_out_channel, last_opt_in_at, sms_last_at, sms_last_event_type,
               sms_last_campaign_name, whatsapp_last_at, whatsapp_last_event_type, email_last_at,
               email_last_event_type
        FROM marts.customer_360 WHERE recipient_pseudonym = ANY(%s)""", list(customer))}
    assert found == {
        # m1, mo1 (a stop reply) and c1 (read at 09:10).
        "+1...01": [["cinnox", "mgage"], ["sms", "whatsapp"], 3, at("09:10"), at("12:00"), at("10:00"),
                    at("12:00"), at("09:10"), at("12:00"), "sms", None, at("12:00"), "received",
                    "Program One", at("09:10"), "opened", None, None],
        # DND addition on Monday, removal on Tuesday.
        "+1...07": [["webex"], ["sms"], 2, at("16:00"), at("16:00", TUESDAY), None, at("16:00", TUESDAY),
                    None, at("16:00"), "sms", at("16:00", TUESDAY), at("16:00", TUESDAY), "subscribed",
                    "Promo", None, None, None, None],
        # Sent 08:00, opened 08:30, unsubscribed 08:45.
        "cat": [["senderguide"], ["email"], 3, at("08:00"), at("08:45"), at("08:45"), None, at("08:30"),
                at("08:45"), "email", None, None, None, None, None, None, at("08:45"), "unsubscribed"],
    }


def mart_contents(conn: psycopg.Connection) -> dict[str, list[tuple]]:
    return {table: sorted(rows(conn, sql.SQL("SELECT * FROM {}").format(sql.Identifier("marts", table))
                               .as_string(conn)), key=repr)
            for table in MART_TABLES}


def test_an_incremental_refresh_recomputes_the_touched_days_and_equals_a_rebuild(
        loader: psycopg.Connection) -> None:
    """In New York's days, which straddle two UTC days each."""
    wednesday = TUESDAY + timedelta(days=1)
    load(loader, FIRST_LOAD, "run-1")
    assert refresh(loader, "America/New_York").full
    unchanged = refresh(loader, "America/New_York")
    assert (unchanged.full, unchanged.utc_days) == (False, [])
    load(loader, [
        mgage("m4", "Delivered", at("03:00", TUESDAY), 4),  # delivered after all
        mo("mo5", at("09:00", wednesday), 4, "END"),  # a stop reply on Wednesday
        senderguide("s6", "opens", at("09:00", wednesday), "dan"),  # dan opens Monday's email
        # c3 is delivered after all, past midnight: it leaves Monday for Tuesday.
        cinnox("c3", "Delivered", at("00:05", TUESDAY), 6, carrier_network_status="Delivered"),
    ], "run-2")
    incremental = refresh(loader, "America/New_York")
    assert (incremental.full, incremental.utc_days) == (False, [MONDAY, TUESDAY, wednesday])
    assert rows(loader, "SELECT engaged, seconds_to_first_engagement FROM marts.message_latency "
                        "WHERE event_id = %s", make_event_id("senderguide", "s4")) == [(True, 49 * 3600.0)]
    after_increments = mart_contents(loader)
    rebuilt = refresh(loader, "America/New_York", full=True)
    assert (rebuilt.full, rebuilt.reason) == (True, "asked for")
    assert mart_contents(loader) == after_increments


def test_a_change_of_zone_or_of_mapping_rules_rebuilds_the_marts(loader: psycopg.Connection,
                                                                  warehouse: psycopg.Connection) -> None:
    load(loader, FIRST_LOAD, "run-1")
    refresh(loader)
    assert refresh(loader, "Asia/Kolkata").reason == "reporting zone changed from UTC"
    warehouse.execute("INSERT INTO ops.mapping_versions (source, version) VALUES ('mgage', 99)")
    try:
        assert refresh(loader, "Asia/Kolkata").reason == "migrations or mapping rules changed"
    finally:
        warehouse.execute("DELETE FROM ops.mapping_versions WHERE source = 'mgage'")


def test_the_marts_asset_refreshes_the_tables_with_their_metadata(loaded: psycopg.Connection) -> None:
    tables = [AssetKey(["marts", table]) for table in MART_TABLES]
    job = defs.resolve_implicit_global_asset_job_def()
    first = job.execute_in_process(asset_selection=tables, instance=DagsterInstance.ephemeral())
    assert first.success
    meta = materialization_metadata(first, "marts", AssetKey(["marts", "customer_360"]))
    assert meta["dagster/row_count"] == len(RECIPIENTS)
    assert meta["refresh"] == "full (first refresh)" and meta["reporting_time_zone"] == "UTC"
    assert meta["newest_event_at"] == at("16:00", TUESDAY).timestamp()  # w5, the newest event
    assert meta["last_refreshed_at"] > 0 and meta["utc_days_recomputed"] == 2
    columns = {column.name: column.description for column in meta["dagster/column_schema"].columns}
    assert "keyed pseudonym" in columns["recipient_pseudonym"]
    second = job.execute_in_process(asset_selection=tables[:1], instance=DagsterInstance.ephemeral())
    meta = materialization_metadata(second, "marts", tables[0])
    assert (meta["refresh"], meta["utc_days_recomputed"], meta["dagster/row_count"]) == ("incremental", 0, 18)
    graph = defs.resolve_asset_graph()
    assert all(graph.get(key).freshness_policy is not None for key in tables)


def test_an_analyst_reads_every_mart_and_never_a_clear_recipient(loaded: psycopg.Connection,
                                                                  stack: LocalStack) -> None:
    refresh(loaded)
    analyst = login(stack, "analyst")
    with psycopg.connect(analyst) as conn:
        relations = [name for (name,) in rows(conn, "SELECT table_name FROM information_schema.tables "
                                                    "WHERE table_schema = 'marts' ORDER BY 1")]
        assert set(MART_TABLES) | {"status_transitions", "freshness"} <= set(relations)
        everything = "\n".join(
            str(row) for name in relations
            for row in rows(conn, sql.SQL("SELECT t::text FROM {} AS t").format(
                sql.Identifier("marts", name)).as_string(conn)))
        assert rows(conn, "SELECT count(*) FROM marts.status_transitions") == [(3,)]  # m1, c1 twice
    digits = [recipient.lstrip("+") for recipient in RECIPIENTS]
    assert not [value for value in RECIPIENTS + digits if value in everything]
    assert "pii:" in everything  # recipients are there, as pseudonyms
    for statement in ("SELECT 1 FROM core.status_history", "SELECT 1 FROM core.stop_replies",
                      "SELECT 1 FROM ops.mart_refreshes", "DELETE FROM marts.customer_360"):
        assert refused(analyst, statement), statement
