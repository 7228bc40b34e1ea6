"""Malformed records from every source (missing fields, unparseable dates, numbers or emails
that are not, "null"): quarantined with their reason while the good ones load; once the
vendor sends them corrected, a re-run loads them and they leave quarantine."""

import dataclasses

import psycopg
import pytest

from sandbox.faults import FaultSettings
from sandbox.server import serve_in_thread
from tests.conftest import TEST_SANDBOX
from tests.support import days_ago, run_job, run_webex

FAULTY = dataclasses.replace(TEST_SANDBOX, faults=FaultSettings(seed=3, rates={"malformed": 0.05}))


def counts(conn: psycopg.Connection, source: str) -> tuple[int, int]:
    return conn.execute("""
        SELECT (SELECT count(*) FROM core.message_events WHERE source = %(s)s),
               (SELECT count(*) FROM ops.quarantine WHERE source = %(s)s)""", {"s": source}).fetchone()


@pytest.mark.day_sensitive
@pytest.mark.parametrize(("source", "job", "base_url_var"), [
    ("mgage", "mgage_daily", "MGAGE_BASE_URL"),
    ("senderguide", "senderguide_daily", "SENDERGUIDE_BASE_URL"),
    ("cinnox", "cinnox_daily", "CINNOX_BASE_URL"),
])
def test_quarantined_then_loaded_once_corrected(source, job, base_url_var, warehouse: psycopg.Connection,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    day = days_ago(2).isoformat()
    with serve_in_thread(FAULTY) as (url, app):
        monkeypatch.setenv(base_url_var, url)
        assert run_job(job, day).success  # bad records do not fail the run
        loaded, quarantined = counts(warehouse, source)
        assert loaded > 0 and quarantined > 0
        reasons = {row[0] for row in warehouse.execute(
            "SELECT reason FROM ops.quarantine WHERE source = %s", (source,))}
        assert all(reasons), reasons
        app.state.advance()  # the vendor now sends them corrected
        assert run_job(job, day).success
    assert counts(warehouse, source) == (loaded + quarantined, 0)


def test_webex_quarantines_bad_transactions_and_loads_the_rest(warehouse: psycopg.Connection,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    with serve_in_thread(FAULTY) as (url, _):
        monkeypatch.setenv("WEBEX_BASE_URL", url)
        assert run_webex().success
    loaded, quarantined = counts(warehouse, "webex")
    assert loaded > 0 and quarantined > 0
    payload = warehouse.execute("SELECT payload FROM ops.quarantine WHERE source = 'webex' LIMIT 1").fetchone()[0]
    assert "transaction-id" in payload  # kept whole, so the correction can find it
