"""The asset checks: green after a clean load, red when the warehouse is made to disagree."""

from datetime import date, timedelta

import psycopg
from dagster import AssetCheckSeverity, AssetKey

from pipelines.orchestration.checks import (
    FETCHED_LANDED,
    QUARANTINE,
    RECONCILES,
    REQUIRED,
    UNIQUE,
    UNKNOWN,
    run_checks,
)
from pipelines.warehouse.event_sql import WRITTEN_COLUMNS
from tests.support import days_ago, run_job

RAW, EVENTS = AssetKey(["mgage", "raw_messages"]), AssetKey(["mgage", "message_events"])


def day_under_test() -> date:
    """The day these tests load: 2 days ago on the pinned clock."""
    return days_ago(2)



def checks(conn: psycopg.Connection) -> dict[str, object]:
    return {result.check_name: result
            for result in run_checks(conn, "mgage", "raw.mgage_messages", RAW, EVENTS, [day_under_test()])}


def test_a_clean_load_passes_every_check_inside_its_run(warehouse: psycopg.Connection) -> None:
    result = run_job("mgage_daily", day_under_test().isoformat())
    assert result.success
    evaluations = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert evaluations == {UNIQUE: True, REQUIRED: True, RECONCILES: True, UNKNOWN: True,
                           QUARANTINE: True, FETCHED_LANDED: True}


def test_raw_without_events_fails_the_blocking_reconciliation(warehouse: psycopg.Connection) -> None:
    assert run_job("mgage_daily", day_under_test().isoformat()).success
    warehouse.execute("DELETE FROM core.message_events WHERE event_id = "
                      "(SELECT min(event_id) FROM core.message_events)")
    result = checks(warehouse)[RECONCILES]
    assert not result.passed and result.severity == AssetCheckSeverity.ERROR
    assert result.metadata["partitions_disagreeing"].value == 1


def test_unknown_statuses_and_quarantine_warn(warehouse: psycopg.Connection) -> None:
    assert run_job("mgage_daily", day_under_test().isoformat()).success
    warehouse.execute("UPDATE core.message_events SET event_type = 'unknown', status_raw = 'Teleported' "
                      "WHERE event_id = (SELECT min(event_id) FROM core.message_events)")
    warehouse.execute("""INSERT INTO ops.quarantine
                             (source, scope, record_hash, partition_date, reason, context, payload)
                         VALUES ('mgage', %s, 'h1', %s, 'not a phone number', '{}', '{}')""",
                      (day_under_test().isoformat(), day_under_test()))
    results = checks(warehouse)
    assert not results[UNKNOWN].passed and results[UNKNOWN].severity == AssetCheckSeverity.WARN
    assert "Teleported" in results[UNKNOWN].metadata["unmapped_values"].value
    assert not results[QUARANTINE].passed and results[QUARANTINE].metadata["quarantined"].value == 1
    assert results[UNIQUE].passed and results[REQUIRED].passed


def test_a_record_kept_under_two_days_fails_the_unique_check_over_both(warehouse: psycopg.Connection) -> None:
    """One day's key makes its ids unique; a record moved further than the loader looks for it
    is kept under two days, which a check over both days finds."""
    day = day_under_test()
    assert run_job("mgage_daily", day.isoformat()).success
    earlier = day - timedelta(days=9)
    warehouse.execute("SELECT core.ensure_month_partitions(ARRAY[%s::date])", (earlier,))
    columns = ", ".join(WRITTEN_COLUMNS)  # test-only: the event row's own column names
    copied = ", ".join("%(earlier)s::date" if name == "partition_date" else name for name in WRITTEN_COLUMNS)
    warehouse.execute(f"INSERT INTO core.message_events ({columns}) SELECT {copied} FROM core.message_events"
                      " ORDER BY event_id LIMIT 1", {"earlier": earlier})
    both = {result.check_name: result for result in run_checks(
        warehouse, "mgage", "raw.mgage_messages", RAW, EVENTS, [earlier, day])}
    assert not both[UNIQUE].passed and both[UNIQUE].metadata["duplicate_ids"].value == 1
    assert checks(warehouse)[UNIQUE].passed
