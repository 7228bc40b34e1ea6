"""The retention job: once a day, message content older than PIPELINES_RETENTION_DAYS leaves
the warehouse, and months older than PIPELINES_KEEP_MONTHS are dropped whole
(pipelines/warehouse/retention.py). Off by default: with both settings at 0 the job runs and
removes nothing."""

from collections.abc import Sequence
from datetime import timedelta

from dagster import (
    DefaultScheduleStatus,
    JobDefinition,
    OpExecutionContext,
    ScheduleDefinition,
    job,
    op,
)

from pipelines.model import clock
from pipelines.model.timestamps import month_start
from pipelines.warehouse.resource import Warehouse
from pipelines.warehouse.retention import ContentFields, drop_months_before, purge_content


def retention_job(sources: Sequence[ContentFields]) -> tuple[JobDefinition, ScheduleDefinition]:
    """The job over the sources' content fields, and its daily schedule (stopped, like all)."""

    @op(name="purge_expired_content")
    def purge(context: OpExecutionContext, warehouse: Warehouse) -> None:
        """Strip bodies, preview links and quarantined payloads older than the retention period."""
        if warehouse.retention_days <= 0:
            context.log.info("retention is off (PIPELINES_RETENTION_DAYS is 0): nothing removed")
            return
        cutoff = clock.today() - timedelta(days=warehouse.retention_days)
        with warehouse.connect() as conn:
            purged = purge_content(conn, list(sources), cutoff)
        context.log.info(f"content before {cutoff.isoformat()} removed from "
                         + ", ".join(f"{name}: {rows} rows" for name, rows in purged.items()))

    @op(name="drop_expired_months")
    def drop_months(context: OpExecutionContext, warehouse: Warehouse) -> None:
        """Drop the month partitions of events and landed records older than the months kept.
        The vendors keep a year; the warehouse keeps what it is told, every month by default."""
        if warehouse.keep_months <= 0:
            context.log.info("every month is kept (PIPELINES_KEEP_MONTHS is 0): nothing dropped")
            return
        cutoff = month_start(clock.today(), -(warehouse.keep_months - 1))  # this month is kept
        with warehouse.connect() as conn:
            dropped = drop_months_before(conn, cutoff)
        context.log.info(f"months before {cutoff.isoformat()} dropped: "
                         + (", ".join(month.strftime("%Y-%m") for month in dropped) or "none left"))

    @job(name="warehouse_retention", description=(
        "Removes message bodies, preview links and quarantined payloads older than "
        "PIPELINES_RETENTION_DAYS (off when 0), and drops whole months of events and landed "
        "records older than PIPELINES_KEEP_MONTHS (off when 0)."))
    def retention() -> None:
        purge()
        drop_months()

    schedule = ScheduleDefinition(job=retention, cron_schedule="30 4 * * *", execution_timezone="UTC",
                                  default_status=DefaultScheduleStatus.STOPPED)
    return retention, schedule
