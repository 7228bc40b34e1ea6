"""Every status and interaction type the vendors document has a row in core.event_type_map.

The strings are read from the documentation itself (docs/vendor/, a snapshot of
../shared/vendor-docs), so a status added to the docs without a mapping fails here."""

import re

import psycopg
import pytest

from pipelines.paths import PROJECT_ROOT

DOCS = PROJECT_ROOT / "docs" / "vendor"
SHARED = PROJECT_ROOT.parent / "shared"


def doc(name: str) -> str:
    return (DOCS / name).read_text()


def table_cell(text: str, field: str) -> str:
    """The description cell of a `| field | ... |` row of a doc's table."""
    for line in text.splitlines():
        if line.startswith(f"{field} |") or line.startswith(f"| {field} |"):
            return line
    raise AssertionError(f"no {field} row in the doc")


def mgage_statuses() -> set[str]:
    example = set(re.findall(r"deliveryStatus[”\"]\s*:\s*[“\"](\w+)", doc("mgage-sms-export.txt")))
    seen = re.search(r"Statuses seen in the product: ([^.]+)\.", doc("vendor-apis.md")).group(1)
    listed = {re.sub(r"\s*\(.*\)", "", part).strip() for part in seen.split(",")}
    return example | listed


def senderguide_types() -> set[str]:
    documented = set(re.findall(r'"interaction(?:Type|_type)": "(\w+)"',
                                doc("senderguide-email-interaction-data.txt")))
    expected = re.search(r"Expected too: ([^.]+)\.", doc("vendor-apis.md")).group(1)
    return documented | {part.strip() for part in expected.split(",")}


def cinnox_statuses(channel: str) -> set[str]:
    """The `status` cell lists the SMS campaign's statuses, then the WhatsApp campaign's."""
    cell = table_cell(doc("cinnox-sent-campaigns-detail.txt"), "| status")
    sms, whatsapp = cell.split("WhatsApp Campaign:", 1)
    return set(re.findall(r"\* (\w+):", sms if channel == "sms" else whatsapp))


def webex_status_text() -> str:
    cell = table_cell(doc("webex-campaign-customer-transactions.txt"), "transaction-status")
    return cell.split("status values:", 1)[1].rsplit("|", 1)[0]


@pytest.fixture
def mapped(warehouse: psycopg.Connection):
    def lookup(source: str) -> dict[str, str]:
        rows = warehouse.execute(
            "SELECT status_key, event_type FROM core.event_type_map WHERE source = %s", (source,))
        return dict(rows.fetchall())
    return lookup


def status_key(conn: psycopg.Connection, status: str) -> str:
    return conn.execute("SELECT core.status_key(%s)", (status,)).fetchone()[0]


def event_type(conn: psycopg.Connection, source: str, channel: str, status: str) -> str:
    return conn.execute("SELECT core.event_type_for(%s, %s, %s)", (source, channel, status)).fetchone()[0]


@pytest.mark.parametrize(("source", "channel", "documented", "at_least"), [
    ("mgage", "sms", mgage_statuses, 5),
    ("senderguide", "email", senderguide_types, 5),
    ("cinnox", "sms", lambda: cinnox_statuses("sms"), 5),
    ("cinnox", "whatsapp", lambda: cinnox_statuses("whatsapp"), 4),
])
def test_documented_statuses_are_mapped_on_their_channel(source, channel, documented, at_least,
                                                         warehouse) -> None:
    strings = documented()
    assert len(strings) >= at_least, strings  # the parsing found the lists
    unmapped = {s for s in strings if event_type(warehouse, source, channel, s) == "unknown"}
    assert unmapped == set()


@pytest.mark.parametrize(("source", "channel", "status", "expected"), [
    # "successfully sent from CINNOX, waiting to be sent to the recipients": sent, on WhatsApp;
    # "ready, and will be sent to the carrier network later": queued, on SMS.
    ("cinnox", "whatsapp", "Pending", "sent"),
    ("cinnox", "sms", "Pending", "queued"),
    ("cinnox", "whatsapp", "Read", "opened"),
    ("cinnox", "sms", "Undelivered", "undelivered"),
    # `received` is an inbound customer message and nothing else.
    ("webex", "sms", "DNDRemoval", "subscribed"),
    ("webex", "sms", "DNDAddition", "unsubscribed"),
    ("webex", "email", "EventProcessedSuccess", "triggered"),
    ("webex", "sms", "EventProcessedFailed", "failed"),
    ("webex", "sms", "MOProcessedSuccess", "received"),
    ("webex", "sms", "Partial Delivery", "undelivered"),
    ("webex", "obd", "OBD Success-In Complete", "delivered"),
    ("mgage", "sms", "Teleported", "unknown"),
    ("cinnox", "whatsapp", "Submitted", "unknown"),  # an SMS-only status
])
def test_a_status_means_what_its_document_says_on_its_channel(source, channel, status, expected,
                                                             warehouse) -> None:
    assert event_type(warehouse, source, channel, status) == expected


def test_every_ambiguous_choice_is_written_down_where_the_map_is(warehouse) -> None:
    notes = dict(warehouse.execute(
        "SELECT source || ' ' || channel || ' ' || status_raw, note FROM core.event_type_map "
        "WHERE note IS NOT NULL").fetchall())
    for choice in ("cinnox sms Undelivered", "cinnox whatsapp Pending", "webex * Partial Delivery",
                   "webex * DNDRemoval", "webex * EventProcessedSuccess", "webex * MOProcessedFailed"):
        assert notes.get(choice), choice


def test_every_webex_transaction_status_in_the_doc_is_mapped(mapped, warehouse) -> None:
    """The doc runs its ~60 statuses together; removing every mapped status from that text,
    longest first, must leave nothing but separators: no documented status is unmapped."""
    rows = warehouse.execute(
        "SELECT status_raw, event_type FROM core.event_type_map WHERE source = 'webex'").fetchall()
    assert all(event_type != "unknown" for _, event_type in rows)
    remaining = webex_status_text()
    for status, _ in sorted(rows, key=lambda row: -len(row[0])):
        assert status in remaining or status in webex_status_text(), f"{status!r} is not in the doc"
        remaining = remaining.replace(status, " ")
    assert remaining.replace("*", "").split() == []


def test_the_webex_sandbox_uses_exactly_the_mapped_statuses(mapped, warehouse) -> None:
    from sandbox.vendors.webex import TRANSACTION_STATUSES

    mapping = mapped("webex")
    assert {status_key(warehouse, s) for s in TRANSACTION_STATUSES} == set(mapping)


@pytest.mark.skipif(not SHARED.exists(), reason="../shared is not beside this checkout")
def test_the_snapshot_matches_the_shared_docs() -> None:
    shared = {path.name: path.read_text() for path in (SHARED / "vendor-docs").glob("*.txt")}
    shared["vendor-apis.md"] = (SHARED / "vendor-apis.md").read_text()
    assert {name: doc(name) for name in shared} == shared


def test_status_lookup_ignores_case_and_spacing_around_commas_and_hyphens(warehouse) -> None:
    assert status_key(warehouse, "  email ,  OPENED ") == status_key(warehouse, "Email,Opened")
    assert status_key(warehouse, "OBD Failed - NotAnswered") == status_key(warehouse, "OBD Failed -NotAnswered")
