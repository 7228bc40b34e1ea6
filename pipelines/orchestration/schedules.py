"""When each source loads, and which runs a schedule asks for.

Every schedule starts stopped, so a deployment turns on exactly what it wants (one click in
the UI, under Automation). Defaults:

| source      | today's partition  | the days whose statuses still change            |
|-------------|--------------------|-------------------------------------------------|
| mgage       | every hour, :05    | last 3 days, daily 02:15 UTC (Sent -> Delivered)|
| senderguide | every 2 hours, :20 | last 3 days, daily 02:30 UTC (late opens/clicks)|
| cinnox      | every hour, :35    | last 7 days, daily 02:45 UTC (Pending -> Read)  |
| webex       | every 30 minutes, a run per shard: its due keys from their watermarks   |
|             | its followed keys (ops.webex_keys) refreshed hourly at :10               |

A lookback is one run over a range of partitions (one transaction per day inside it)."""

from collections.abc import Iterator
from datetime import datetime

from dagster import (
    DefaultScheduleStatus,
    PartitionsDefinition,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    schedule,
)

from pipelines.model import clock
from pipelines.orchestration.partitions import lookback_partition_keys, partition_range_tags


def _today(context: ScheduleEvaluationContext) -> datetime:
    return context.scheduled_execution_time or clock.now()


def todays_partition(job_name: str, cron: str) -> ScheduleDefinition:
    """Load today's UTC partition (it fills during the day) on `cron`."""

    @schedule(name=f"{job_name}_today", job_name=job_name, cron_schedule=cron, execution_timezone="UTC",
              default_status=DefaultScheduleStatus.STOPPED,
              description=f"Today's partition of {job_name}, {cron} (UTC).")
    def today(context: ScheduleEvaluationContext) -> RunRequest:
        day = _today(context).date().isoformat()
        return RunRequest(partition_key=day, tags={"schedule_window": "today"})

    return today


def lookback(job_name: str, days: int, cron: str) -> ScheduleDefinition:
    """Re-load the last `days` days, today included, as one run on `cron`."""

    @schedule(name=f"{job_name}_lookback_{days}d", job_name=job_name, cron_schedule=cron,
              execution_timezone="UTC", default_status=DefaultScheduleStatus.STOPPED,
              description=f"The last {days} days of {job_name} as one run, {cron} (UTC): "
                          "statuses of recent messages keep changing.")
    def recent(context: ScheduleEvaluationContext) -> RunRequest:
        keys = lookback_partition_keys(_today(context).date(), days)
        return RunRequest(tags=partition_range_tags(keys[0], keys[-1])
                          | {"schedule_window": f"lookback_{days}d"})

    return recent


def every(job_name: str, cron: str) -> ScheduleDefinition:
    """An unpartitioned job (Webex) on `cron`."""
    return ScheduleDefinition(name=f"{job_name}_schedule", job_name=job_name, cron_schedule=cron,
                              execution_timezone="UTC", default_status=DefaultScheduleStatus.STOPPED,
                              description=f"{job_name}, {cron} (UTC).")


def each_partition(job_name: str, cron: str, partitions: PartitionsDefinition) -> ScheduleDefinition:
    """A run per partition (Webex: per shard of its keys) on `cron`: a run launcher that spreads
    runs over machines pulls them at once; the job's pool decides how many run together."""

    @schedule(name=f"{job_name}_schedule", job_name=job_name, cron_schedule=cron,
              execution_timezone="UTC", default_status=DefaultScheduleStatus.STOPPED,
              description=f"{job_name}, a run per partition, {cron} (UTC).")
    def every_partition(context: ScheduleEvaluationContext) -> Iterator[RunRequest]:
        tick = _today(context).isoformat()
        for key in partitions.get_partition_keys():
            yield RunRequest(run_key=f"{tick}/{key}", partition_key=key)

    return every_partition
