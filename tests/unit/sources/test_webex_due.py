"""When a Webex key is next due: every run while it has traffic, then daily, then weekly."""

from datetime import UTC, date, datetime, timedelta

import pytest

from pipelines.sources.webex.due import DuePolicy

PULLED = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
TODAY = date(2026, 11, 20)
POLICY = DuePolicy()


@pytest.mark.parametrize(("activity_days_ago", "wait"), [
    (0, timedelta(0)), (2, timedelta(0)),               # active: due at the next run
    (3, timedelta(days=1)), (29, timedelta(days=1)),    # recent: daily
    (30, timedelta(weeks=1)), (400, timedelta(weeks=1)),  # quiet: weekly
])
def test_the_wait_grows_with_the_age_of_the_latest_transaction(activity_days_ago: int, wait: timedelta) -> None:
    last = TODAY - timedelta(days=activity_days_ago)
    assert POLICY.next_due(PULLED, TODAY, last, None) == PULLED + wait


def test_a_key_never_active_waits_a_week() -> None:
    assert POLICY.next_due(PULLED, TODAY, None, None) == PULLED + timedelta(weeks=1)


def test_traffic_seen_on_another_vendor_counts_too() -> None:
    long_ago = TODAY - timedelta(days=200)
    assert POLICY.next_due(PULLED, TODAY, long_ago, PULLED - timedelta(hours=5)) == PULLED
    assert POLICY.next_due(PULLED, TODAY, None, PULLED - timedelta(days=10)) == PULLED + timedelta(days=1)
    # The more recent of the two decides.
    assert POLICY.next_due(PULLED, TODAY, TODAY, PULLED - timedelta(days=100)) == PULLED
