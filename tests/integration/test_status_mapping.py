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


def cinnox_statuses() -> set[str]:
    text = doc("cinnox-sent-campaigns-detail.txt")
    cells = table_cell(text, "| status") + table_cell(text, "| carrierNetworkStatus")
    return set(re.findall(r"\* (\w+):", cells))


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


@pytest.mark.parametrize(("source", "documented"), [
    ("mgage", mgage_statuses),
    ("senderguide", senderguide_types),
    ("cinnox", cinnox_statuses),
])
def test_documented_statuses_are_mapped(source, documented, mapped, warehouse) -> None:
    strings = documented()
    assert len(strings) >= 5, strings  # the parsing found the lists
    mapping = mapped(source)
    unmapped = {s for s in strings if mapping.get(status_key(warehouse, s), "unknown") == "unknown"}
    assert unmapped == set()


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
