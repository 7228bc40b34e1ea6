from datetime import UTC, date, datetime

import pytest
from dagster import PartitionKeyRange, build_schedule_context

from pipelines.orchestration.partitions import lookback_partition_keys
from pipelines.sources.cinnox import DEFINITION
from pipelines.sources.cinnox.client import CinnoxClient


def test_the_last_days_up_to_today_oldest_first() -> None:
    assert lookback_partition_keys(date(2026, 3, 2), 3) == ["2026-02-28", "2026-03-01", "2026-03-02"]
    assert lookback_partition_keys(date(2026, 3, 2), 1) == ["2026-03-02"]
    assert lookback_partition_keys(date(2026, 3, 2), 0) == []


def test_never_before_the_first_partition() -> None:
    assert lookback_partition_keys(date(2025, 1, 2), 7) == ["2025-01-01", "2025-01-02"]


def test_negative_days_are_refused() -> None:
    with pytest.raises(ValueError):
        lookback_partition_keys(date(2026, 3, 2), -1)


def test_the_source_re_pulls_a_week_by_default() -> None:
    client = CinnoxClient(base_url="https://cinnox.test", app_id="app", app_token="token")
    assert client.page_limit == 100
    [lookback] = [s for s in DEFINITION.schedules if s.name.startswith("cinnox_daily_lookback")]
    context = build_schedule_context(scheduled_execution_time=datetime(2026, 3, 2, 2, 45, tzinfo=UTC))
    [request] = lookback.evaluate_tick(context).run_requests
    assert request.partition_key_range == PartitionKeyRange("2026-02-24", "2026-03-02")  # 7 days
