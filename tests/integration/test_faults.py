"""Every fault the sandbox can inject, against the real load path: nothing lost, nothing
duplicated, bad records quarantined and loaded once corrected, and no more runs than the
fault calls for. The same matrix, larger, is `python -m bench.faults`."""

import pytest

from bench.faults import MODES, fault_matrix
from local_stack.launcher import LocalStack

pytestmark = pytest.mark.slow


def test_no_fault_loses_or_duplicates_a_row(stack: LocalStack, warehouse) -> None:
    outcomes = {outcome.mode: outcome for outcome in fault_matrix(stack.migration_url, daily=3000)}
    assert set(outcomes) == set(MODES)
    clean = outcomes["clean"]
    assert clean.rows > 0 and clean.runs == 1
    for mode, outcome in outcomes.items():
        assert (outcome.lost, outcome.extra, outcome.rows) == (0, 0, clean.rows), mode
        if mode != "clean":
            assert outcome.injected > 0, f"{mode} was never injected: the test proves nothing"
    for mode in ("throttle", "server_error", "drop", "truncate", "slow", "duplicate"):
        assert outcomes[mode].runs == 1, f"{mode} should be absorbed by retries or de-duplication"
    assert outcomes["duplicate"].duplicates_absorbed > 0
    assert outcomes["malformed"].quarantined_first > 0 and outcomes["malformed"].runs == 2
    assert outcomes["foreign_next"].runs > 1 and outcomes["loop_next"].runs > 1  # failed, then re-run
