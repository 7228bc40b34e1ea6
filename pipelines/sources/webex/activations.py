"""Activations: warehouse audiences sent to Webex Campaign as events, each exactly once.

An activation is data (sql/activations/<name>.sql and .toml, see the README there). A run:

1. takes the activation (one run at a time; a killed run's hold dies with its connection);
2. settles the rows whose send is in doubt (below);
3. computes the audience, checks each row against the vendor's limits, and writes the due
   keys to ops.activation_outbox, pending or rejected with their reason, in one transaction,
   before anything is sent (a dry run rolls that transaction back and sends nothing);
4. sends the pending rows one by one: the attempt is committed ('sending') before the request
   leaves, and its outcome the moment it is known.

Exactly once. The event API is not idempotent and has no idempotency key, so the one thing
never done is sending again an event that may have reached the vendor. A row is sent again
only when the vendor surely did not act: it answered "later" (429/499/500/502, after the
shared HTTP layer's retries), or refused the credentials, or the connection never opened.
A row left 'sending' by a killed run, or 'in_doubt' after a lost answer, is settled from the
key's own transactions (the customer-transactions API): an EventProcessedSuccess or
EventProcessedFailed transaction of the key, dated from the attempt on (less a few minutes of
clock skew), of the activation's deployment when its settings name one, and not already
settling another row, proves the event arrived: the row is sent (or failed) with that
transaction's id. Without one, the row stays in doubt until WEBEX_IN_DOUBT_SETTLE_HOURS
(default 48, the vendor's reporting lag) have passed since the attempt; only then is it
due again. The risk left: a vendor that processes an event and never reports it within that
time would get it twice; one that reports another event of the key's as this one (same
deployment, same hours) would make this one count as sent. Naming `deployment_id` narrows
the second to events of the same deployment."""

import tomllib
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    Config,
    DefaultScheduleStatus,
    Failure,
    MaterializeResult,
    MetadataValue,
    RunConfig,
    ScheduleDefinition,
    asset,
)
from pydantic import BaseModel, ConfigDict, Field

from pipelines.model import clock
from pipelines.model.kill_points import kill_point
from pipelines.model.timestamps import parse_vendor_time
from pipelines.orchestration.materialize import OWNERS
from pipelines.orchestration.run_workers import record_worker
from pipelines.orchestration.settings import ModelSettings
from pipelines.orchestration.source import Action
from pipelines.paths import ACTIVATIONS_DIR, PROJECT_ROOT
from pipelines.sources.webex.client import KeyWindow, WebexClient, WebexSession
from pipelines.sources.webex.events import (
    AccessRefused,
    Event,
    EventRejected,
    Outcome,
    check_event_body,
    check_event_error,
    checked_event,
    send_event,
    wire_key,
)
from pipelines.sources.webex.mapping import status_key
from pipelines.transport.http import RequestRate, RetryPolicy, VendorError, VendorHttp
from pipelines.warehouse.outbox import AudienceRow, Outbox, UnsettledRow
from pipelines.warehouse.resource import Warehouse

GROUP = "webex_activations"
PARAMS_COLUMN = "event_params"
# Transactions that say the vendor processed an event of the key.
_PROCESSED = {"eventprocessedsuccess": "sent", "eventprocessedfailed": "failed"}
# How much earlier than our attempt the vendor's clock may date the event it processed.
CLOCK_SKEW = timedelta(minutes=5)
_STATE_OF = {Outcome.ACCEPTED: "sent", Outcome.REFUSED: "failed", Outcome.LATER: "pending",
             Outcome.IN_DOUBT: "in_doubt"}


class ActivationSettings(BaseModel):
    """An activation's .toml (sql/activations/README.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str
    event_id: str = Field(min_length=1)
    resend_after_days: int | None = Field(default=None, ge=1)
    cron: str = "0 9 * * *"
    reads: tuple[str, ...] = ()
    deployment_id: str | None = None


@dataclass(frozen=True)
class Activation:
    name: str
    settings: ActivationSettings
    sql_path: Path

    @property
    def asset_key(self) -> AssetKey:
        return AssetKey(["webex", "activations", self.name])

    @property
    def job_name(self) -> str:
        return f"activate_{self.name}"

    @property
    def resend_after(self) -> timedelta | None:
        days = self.settings.resend_after_days
        return None if days is None else timedelta(days=days)

    @property
    def sql(self) -> str:
        return self.sql_path.read_text()


def load_activations(directory: Path = ACTIVATIONS_DIR) -> tuple[Activation, ...]:
    """Every <name>.toml with its <name>.sql, in name order; a half pair is an error."""
    activations = []
    for settings_path in sorted(directory.glob("*.toml")):
        sql_path = settings_path.with_suffix(".sql")
        if not sql_path.exists():
            raise ValueError(f"activation {settings_path.stem}: {sql_path.name} is missing")
        settings = ActivationSettings.model_validate(tomllib.loads(settings_path.read_text()))
        activations.append(Activation(settings_path.stem, settings, sql_path))
    orphans = {path.stem for path in directory.glob("*.sql")} - {a.name for a in activations}
    if orphans:
        raise ValueError(f"activation(s) {', '.join(sorted(orphans))}: the .toml is missing")
    return tuple(activations)


class ActivationConfig(Config):
    dry_run: bool = Field(default=True, description=(
        "report the audience, what would be sent and what would be rejected, and send "
        "nothing; the schedule (and make run against the sandbox) sets it to false"))


@dataclass
class ActivationReport:
    """What one run did, for the run's metadata and the summary."""

    dry_run: bool
    audience: int = 0
    planned: Counter[tuple[str, str | None]] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    settled: Counter[str] = field(default_factory=Counter)

    def counts(self) -> dict[str, int]:
        planned, outcomes, settled = self.planned, self.outcomes, self.settled
        due = sum(n for (state, _), n in planned.items() if state == "pending")
        rejected = sum(n for (state, _), n in planned.items() if state == "rejected")
        distinct = sum(n for (state, _), n in planned.items() if state in ("pending", "rejected"))
        return {"audience": self.audience, "due": due, "rejected": rejected,
                "skipped_already_sent": planned.get(("distinct_keys", None), 0) - distinct,
                "sent": outcomes["sent"], "failed": outcomes["failed"],
                "deferred": outcomes["pending"], "in_doubt": outcomes["in_doubt"],
                "settled_sent": settled["sent"], "settled_failed": settled["failed"],
                "settled_due_again": settled["pending"], "still_in_doubt": settled["in_doubt"]}

    def rejects_by_reason(self) -> dict[str, int]:
        return {code or "?": n for (state, code), n in self.planned.items()
                if state == "rejected"}


def audience_rows(conn: psycopg.Connection, activation: Activation, *, now: datetime,
                  sandbox: bool, default_region: str) -> Iterator[AudienceRow]:
    """The activation's query, row by row (a server-side cursor: a million keys stream), each
    checked against the vendor's limits."""
    with conn.cursor(name=f"audience_{activation.name}") as cursor:
        cursor.itersize = 5_000
        cursor.execute(activation.sql, {"now": now, "sandbox": sandbox})
        columns = [column.name for column in cursor.description or ()]
        if "event_key" not in columns:
            raise ValueError(f"activation {activation.name}: its query returns no event_key column")
        for values in cursor:
            row = dict(zip(columns, values, strict=True))
            yield checked_row(activation, row, default_region)


def checked_row(activation: Activation, row: Mapping[str, Any], default_region: str) -> AudienceRow:
    """One audience row as the outbox keeps it: its normalized key and text parameters, or
    the row as it came with the rule it breaks."""
    raw_key = row.get("event_key")
    params = {name: value for name, value in row.items() if name != "event_key"}
    if PARAMS_COLUMN in params and len(params) == 1:
        params = params[PARAMS_COLUMN] if isinstance(params[PARAMS_COLUMN], dict) else {"": None}
    try:
        event = checked_event(activation.settings.event_id, raw_key, params, default_region)
    except EventRejected as rejected:
        kept = {name: None if value is None else str(value) for name, value in params.items()}
        return AudienceRow("" if raw_key is None else str(raw_key).strip(), kept,
                           rejected.code, str(rejected))
    return AudienceRow(event.key, event.params)


def settle(outbox: Outbox, rows: list[UnsettledRow], session: WebexSession, activation: Activation,
           client: WebexClient, now: datetime) -> Counter[str]:
    """Settle each in-doubt row from its key's transactions (see the module's docstring)."""
    outcomes: Counter[str] = Counter()
    zone = client.zone
    if client.in_doubt_settle_hours < 1:  # bound to a variable: only known at run time
        raise ValueError("WEBEX_IN_DOUBT_SETTLE_HOURS must be 1 or more, "
                         f"not {client.in_doubt_settle_hours}")
    wait = timedelta(hours=client.in_doubt_settle_hours)
    for row in rows:
        started = row.attempt_started_at or now
        window = KeyWindow(wire_key(row.event_key), started.astimezone(zone).date(), now.astimezone(zone).date())
        try:
            transactions = session.fetch_key(window).transactions
        except VendorError as error:
            outcomes["unreachable"] += 1
            outbox.finish(row.outbox_id, "in_doubt", now=now, error_code="unsettled",
                          error_text=f"its transactions could not be read: {error.detail}")
            continue
        processed = [(transaction["transaction-id"], _PROCESSED[status]) for transaction in transactions
                     if isinstance(transaction, dict)
                     and (status := status_key(str(transaction.get("transaction-status") or ""))) in _PROCESSED
                     and transaction.get("transaction-id")
                     and _dated_from(transaction, started - CLOCK_SKEW, zone)
                     and (activation.settings.deployment_id is None
                          or str(transaction.get("deployment-id")) == activation.settings.deployment_id)]
        claimed = outbox.claimed(str(transaction_id) for transaction_id, _ in processed)
        free = [(str(transaction_id), state) for transaction_id, state in processed
                if str(transaction_id) not in claimed]
        if free:
            transaction_id, state = free[0]
            outbox.finish(row.outbox_id, state, now=now, transaction_id=transaction_id,
                          settled_by="transactions",
                          error_code=None if state == "sent" else "EventProcessedFailed",
                          error_text=None if state == "sent" else "the vendor processed it and failed")
        elif now - started >= wait:
            state = "pending"
            outbox.finish(row.outbox_id, state, now=now, error_code="no_trace",
                          error_text=f"no trace of it {client.in_doubt_settle_hours} h after the "
                                     "attempt: the vendor never processed it; due again")
        else:
            state = "in_doubt"
            outbox.finish(row.outbox_id, state, now=now, error_code="no_answer",
                          error_text="the answer was lost; waiting for the key's transactions")
        outcomes[state] += 1
    return outcomes


def _dated_from(transaction: dict[str, Any], earliest: datetime, zone: Any) -> bool:
    try:
        return parse_vendor_time(transaction.get("deployment-date"), zone) >= earliest
    except ValueError:
        return False


def send_due(outbox: Outbox, activation: Activation, client: WebexClient,
             http: VendorHttp) -> Counter[str]:
    """Send every pending row, committing each attempt before it leaves and its outcome as
    soon as it is known. Stops (the row due again) when the vendor refuses the credentials."""
    outcomes: Counter[str] = Counter()
    for row in outbox.due():
        if not outbox.start(row, clock.now()):
            continue
        kill_point("activation.sending")
        event = Event(activation.settings.event_id, row.event_key, row.params)
        try:
            result = send_event(http, client.events_path, event)
        except AccessRefused as refused:
            outbox.finish(row.outbox_id, "pending", now=clock.now(), error_code=refused.vendor_code,
                          error_text=refused.detail)
            raise
        kill_point("activation.answered")
        state = _STATE_OF[result.outcome]
        outbox.finish(row.outbox_id, state, now=clock.now(), transaction_id=result.transaction_id,
                      error_code=result.code if state != "sent" else None,
                      error_text=result.text if state != "sent" else None,
                      settled_by="answer" if state in ("sent", "failed") else None)
        outcomes[state] += 1
    return outcomes


def run_activation(activation: Activation, *, conn: psycopg.Connection, reader: psycopg.Connection,
                   client: WebexClient, default_region: str, run_id: str,
                   dry_run: bool, retry: RetryPolicy | None = None) -> ActivationReport:
    """One run of an activation (the module's docstring says what it does, in order). `conn`
    writes the outbox; `reader` streams the audience (a connection cannot read a cursor while
    it copies); `retry` is the tests' seam."""
    outbox = Outbox(conn, activation.name, run_id)
    outbox.hold()
    report = ActivationReport(dry_run=dry_run)
    with client.session(retry=retry) as session:
        unsettled = outbox.unsettled()
        report.settled = (Counter({"in_doubt": len(unsettled)}) if dry_run
                          else settle(outbox, unsettled, session, activation, client, clock.now()))
        now = clock.now()
        rows = audience_rows(reader, activation, now=now, sandbox=client.sandbox,
                             default_region=default_region)
        report.planned = Counter(outbox.plan(activation.settings.event_id, rows, now=now,
                                             resend_after=activation.resend_after,
                                             sandbox=client.sandbox))
        report.audience = report.planned.pop(("audience", None))
        if dry_run:
            conn.rollback()
            return report
        conn.commit()
        kill_point("activation.planned")
    with client.open_http(check_body=check_event_body, check_error=check_event_error, retry=retry,
                          rate=RequestRate(client.max_requests_per_second)) as http:
        report.outcomes = send_due(outbox, activation, client, http)
    return report


def _preview(outbox: Outbox, warehouse: Warehouse) -> str:
    rows = [(warehouse.pseudonym(key) if key else "", state, code or "", attempts, settled or "", params)
            for key, state, code, attempts, settled, params in outbox.preview()]
    frame = pd.DataFrame(rows, columns=["key", "state", "reason", "attempts", "settled_by", "params"])
    return frame.to_markdown(index=False) if rows else "no row touched"


def activation_asset(activation: Activation) -> AssetsDefinition:
    """The activation as an asset downstream of what its SQL reads, in the webex pool (it
    shares the vendor's budget with the transactions pull), with its two checks."""
    key = activation.asset_key
    twice = AssetCheckSpec("no_key_sent_twice_in_window", asset=key, description=(
        "no key was sent this activation twice within its resend window (ever, for once-ever)"))
    rejects = AssetCheckSpec("rejects_by_reason", asset=key, description=(
        "rows this run refused before sending, by reason (a warning: they are kept in "
        "ops.activation_outbox with their reason, and the others went)"))

    @asset(key=key, group_name=GROUP, owners=OWNERS, pool="webex", kinds={"postgres"},
           deps=[AssetKey.from_user_string(read) for read in activation.settings.reads],
           check_specs=[twice, rejects], description=activation.settings.description,
           metadata={"dagster/table_name": "ops.activation_outbox",
                     "event_id": activation.settings.event_id,
                     "query": str(activation.sql_path.relative_to(PROJECT_ROOT)),
                     "resend_after_days": activation.settings.resend_after_days or "once ever"})
    def activate(context: AssetExecutionContext, config: ActivationConfig, webex: WebexClient,
                 warehouse: Warehouse, model_settings: ModelSettings) -> Iterator[MaterializeResult[Any]]:
        record_worker(context.instance, context.run_id)
        with warehouse.connect() as conn, warehouse.connect() as reader:
            try:
                report = run_activation(activation, conn=conn, reader=reader, client=webex,
                                        default_region=model_settings.phone_default_region,
                                        run_id=context.run_id, dry_run=config.dry_run)
            except AccessRefused as refused:
                raise Failure(f"activation {activation.name}: {refused}") from None
            outbox = Outbox(conn, activation.name, context.run_id)
            counts = report.counts()
            context.log.info(f"activation {activation.name}{' (dry run)' if config.dry_run else ''}: "
                             + ", ".join(f"{name} {value}" for name, value in counts.items()))
            sent_twice = outbox.sent_twice(activation.resend_after)
            preview = "a dry run writes nothing" if config.dry_run else _preview(outbox, warehouse)
        reasons = report.rejects_by_reason()
        yield MaterializeResult(
            metadata={"dry_run": config.dry_run, **counts,
                      "rejects_by_reason": MetadataValue.json(reasons), "preview": MetadataValue.md(preview)},
            check_results=[
                AssetCheckResult(check_name=twice.name, passed=sent_twice == 0,
                                 metadata={"keys_sent_twice": sent_twice}),
                AssetCheckResult(check_name=rejects.name, passed=not reasons,
                                 severity=AssetCheckSeverity.WARN,
                                 metadata={"rejected": sum(reasons.values()),
                                           "by_reason": MetadataValue.json(reasons)}),
            ])

    return activate


def activation_action(activation: Activation) -> Action:
    """The activation's asset, its job, and its schedule: off by default, and sending (not a
    dry run) once someone turns it on."""
    sends = RunConfig(ops={"__".join(activation.asset_key.path): ActivationConfig(dry_run=False)})
    schedule = ScheduleDefinition(
        name=f"{activation.job_name}_schedule", job_name=activation.job_name,
        cron_schedule=activation.settings.cron, execution_timezone="UTC",
        default_status=DefaultScheduleStatus.STOPPED, run_config=sends,
        description=f"{activation.job_name}, {activation.settings.cron} (UTC): sends, not a dry run.")
    return Action(activation_asset(activation), activation.job_name,
                  f"Send the activation {activation.name} to Webex ({activation.settings.event_id}); "
                  "a dry run unless its config says dry_run: false (as its schedule does).",
                  schedule, sends)
