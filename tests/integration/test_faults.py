"""Every fault the sandbox can inject, against the real load path: nothing lost, nothing
duplicated, bad records quarantined and loaded once corrected, and no more runs than the
fault calls for. The same matrix, larger, is `python -m bench.faults`."""

from datetime import timedelta

import psycopg
import pytest

from bench.faults import MODES, Outcome, run_mode
from local_stack.launcher import LocalStack
from pipelines.model import clock
from sandbox.faults import RECORD_MODES, TRANSPORT_MODES

pytestmark = pytest.mark.slow

# mGage messages a program-day, per mode; each mode is compared with a clean load of its size.
# Transport faults strike requests, and each throttle costs its Retry-After and the slower pace
# the client learns from it (about 4 s each: at 3,000 the throttle mode alone took 140 s). At
# 1,000 a time slice's walk is 2 pages of 100, so retried next-page requests are faulted too,
# and each mode still fires 10 to 20 times. The record and paging faults need walks of 3 pages
# and more (a looping next URL points back to an earlier page: at 1,000 none fired), so 3,000.
TRANSPORT_DAILY = 1000
RECORD_DAILY = 3000
DAILY = {"clean": RECORD_DAILY, "flaky": TRANSPORT_DAILY} | {mode: TRANSPORT_DAILY for mode in TRANSPORT_MODES} \
    | {mode: RECORD_DAILY for mode in RECORD_MODES}


def test_no_fault_loses_or_duplicates_a_row(stack: LocalStack, warehouse) -> None:
    assert set(DAILY) == set(MODES)
    day = clock.today() - timedelta(days=2)  # as bench.faults.fault_matrix loads
    outcomes: dict[str, Outcome] = {}
    with psycopg.connect(stack.migration_url, autocommit=True) as conn:
        clean: dict[int, tuple[Outcome, set[tuple]]] = {
            daily: run_mode(conn, "clean", day, daily, None) for daily in sorted(set(DAILY.values()))}
        for mode in MODES:
            outcomes[mode] = clean[DAILY[mode]][0] if mode == "clean" else \
                run_mode(conn, mode, day, DAILY[mode], clean[DAILY[mode]][1])[0]
    for daily, (outcome, _) in clean.items():
        assert outcome.rows > 0 and outcome.runs == 1, daily
    for mode, outcome in outcomes.items():
        clean_rows = clean[DAILY[mode]][0].rows
        assert (outcome.lost, outcome.extra, outcome.rows) == (0, 0, clean_rows), mode
        if mode != "clean":
            assert outcome.injected > 0, f"{mode} was never injected: the test proves nothing"
    for mode in ("throttle", "server_error", "drop", "truncate", "slow", "duplicate"):
        assert outcomes[mode].runs == 1, f"{mode} should be absorbed by retries or de-duplication"
    assert outcomes["duplicate"].duplicates_absorbed > 0
    assert outcomes["malformed"].quarantined_first > 0 and outcomes["malformed"].runs == 2
    assert outcomes["foreign_next"].runs > 1 and outcomes["loop_next"].runs > 1  # failed, then re-run
