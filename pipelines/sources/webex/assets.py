"""Webex assets: raw landing and normalized events, pulled per customer key from its watermark.

The followed keys (ops.webex_keys, see keys.py) are split into shards, the load's partitions
(shards.py); a run pulls its shards' due keys, the longest due first, within its share of the
vendor's budget (client.py RunBudget), and sets each key's next due time (due.py).

Keys are fetched concurrently by the client's worker threads; every write happens on this
thread's one connection. Keys are loaded in batches: a batch's rows and every one of its keys'
watermarks, truncated days and due times commit in one transaction, so a watermark never
covers rows that are not there, and thousands of small keys do not pay a transaction each."""

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

import pandas as pd
import psycopg
from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    BackfillPolicy,
    Failure,
    FreshnessPolicy,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)

from pipelines.model import clock
from pipelines.orchestration.checks import (
    check_specs,
    check_truncations,
    run_checks,
    truncations_spec,
)
from pipelines.orchestration.materialize import RangeLoad, log_load, results, source_specs
from pipelines.orchestration.run_workers import record_worker
from pipelines.orchestration.settings import ModelSettings
from pipelines.sources.webex.client import (
    KeyFailure,
    KeyIncrement,
    KeyWindow,
    RunBudget,
    WebexClient,
    key_window,
)
from pipelines.sources.webex.due import DUE_POLICY
from pipelines.sources.webex.keys import FOLLOWED_KEYS
from pipelines.sources.webex.mapping import SOURCE, mapper_for
from pipelines.sources.webex.shards import SHARDS
from pipelines.transport.paging import Page
from pipelines.warehouse.key_state import (
    FollowedKey,
    PulledKey,
    Shards,
    claim_shards,
    due_backlog,
    due_keys,
    record_pulled_keys,
    release_corrected_quarantine,
    sync_configured_keys,
)
from pipelines.warehouse.loading import LoadScope, LoadStats, LoadTarget, Mapper, Stamp, load_pages
from pipelines.warehouse.resource import Warehouse

TARGET = LoadTarget(source=SOURCE, raw_table="raw.webex_transactions")
RAW_SPEC, EVENTS_SPEC = source_specs(
    SOURCE, "raw_transactions", TARGET.raw_table,
    raw_description="Webex Campaign customer transactions as returned, one row per "
                    "transaction-id (raw.webex_transactions), with the customer key asked for.",
    events_description="Webex transactions in the shared model (core.message_events where "
                       "source = 'webex'): channels from codes, UTC times, canonical event types.",
    deps=[FOLLOWED_KEYS],
    # Pulled every 30 minutes (pipelines/sources/webex/__init__.py).
    freshness=FreshnessPolicy.time_window(fail_window=timedelta(hours=2), warn_window=timedelta(hours=1)),
)
# Rows of the run's metadata tables: enough to act on, small whatever the number of keys.
_SCOPES_SHOWN = 50
_TRUNCATIONS_SHOWN = 50
_FAILURES_SHOWN = 20
_PROGRESS_EVERY = 500
# A batch closes at this many transactions or keys, whichever comes first.
BATCH_ROWS = 5_000
BATCH_KEYS = 500
# Every batch loads under this one scope: its advisory lock also keeps two Webex runs from
# moving the same watermarks at once; quarantined rows record the key in their context.
_SCOPE = LoadScope(target=TARGET, key="incremental", complete=False)
KEYS_FRESH = "due_keys_pulled_in_time"
KEYS_FRESH_SPEC = AssetCheckSpec(
    KEYS_FRESH, asset=RAW_SPEC.key,
    description="no followed key of the run's shards has been due, and not pulled, for longer "
                "than WEBEX_MAX_KEY_LAG_HOURS: the vendor's budget keeps up with the keys")


def last_activity(increment: KeyIncrement, known: date | None) -> date | None:
    """The tenant-local day of the key's latest transaction: the increment's newest
    `deployment-date` (unparseable ones are the quarantine's concern), or what was known."""
    days = [known] if known else []
    for transaction in increment.transactions:
        try:
            days.append(date.fromisoformat(str(transaction["deployment-date"])[:10]))
        except (KeyError, TypeError, ValueError):
            continue
    return max(days, default=None)


def record_batch_state(pulled: list[PulledKey], pulled_at: datetime, cursor: psycopg.Cursor[Any],
                       scope: LoadScope, stats: LoadStats, run_id: str | None) -> None:
    """The batch's state, in its transaction: corrected transactions leave quarantine, and
    each key's watermark, truncated days and next due time are recorded."""
    release_corrected_quarantine(cursor)
    record_pulled_keys(cursor, pulled, pulled_at, run_id)


def load_increments(conn: psycopg.Connection, batch: list[tuple[KeyIncrement, PulledKey]],
                    mapper: Mapper, stamp: Stamp, pulled_at: datetime, run_id: str | None) -> LoadStats:
    """A batch of keys' increments in one transaction: rows, quarantine, and each key's
    watermark, truncations and next due time commit together."""
    pages = [Page(records=increment.transactions, context={"key": increment.window.key})
             for increment, _ in batch]
    # The month partitions its rows need are made before the load (tenant-local windows: a day
    # either side for the UTC days their times fall on).
    days = (min(increment.window.first for increment, _ in batch) - timedelta(days=1),
            max(increment.window.last for increment, _ in batch) + timedelta(days=1))
    stats = load_pages(conn, replace(_SCOPE, days=days), pages, mapper, stamp=stamp, run_id=run_id,
                       record_state=partial(record_batch_state, [state for _, state in batch], pulled_at))
    stats.scope = f"{len(batch)} keys"
    stats.pages = sum(increment.requests for increment, _ in batch)  # answers read
    return stats


@dataclass
class Spending:
    """What a run has spent of its budget: it starts no key once what it has committed (its
    calls, plus one for each key started that has made none yet: WebexSession.committed)
    reaches the request budget, or once its time is up. A key under way may still split its
    window, so a run can end a few calls over; never a key more."""

    budget: RunBudget
    started_at: float = field(default_factory=time.monotonic)

    def allows_another(self, committed: int) -> bool:
        if time.monotonic() - self.started_at >= self.budget.seconds:
            return False
        return self.budget.requests is None or committed < self.budget.requests


def load_keys(context: AssetExecutionContext, client: WebexClient, warehouse: Warehouse,
              mapper: Mapper, shards: Shards) -> tuple[RangeLoad, list[KeyFailure]]:
    """Pull the due keys of `shards`, the longest due first, as far as the run's budget goes:
    fetched concurrently, each loaded as it arrives, on this thread. The keys left over stay
    due and go first next run.

    Keys are personal data: logs, error notes and metadata show them by their pseudonym
    (`warehouse.pseudonym`), never in clear.

    A key that fails is reported and skipped (it stays due, so the next run re-asks it);
    failures that would hit every key (credentials, path), or a run of consecutive failures
    (the vendor is down), stop the run at once."""
    started = time.monotonic()
    outcome = RangeLoad()
    failures: list[KeyFailure] = []
    truncations: list[dict[str, Any]] = []
    budget = client.run_budget(len(shards.ids), shards.count)
    spending = Spending(budget)
    give_up_after = 2 * client.max_concurrency + 1
    consecutive = 0
    keys_loaded = 0
    hide, stamp = warehouse.pseudonym, warehouse.stamp(sandbox=client.sandbox)
    with client.session(rate=budget.requests_per_second) as api, warehouse.connect() as conn:
        now, today = clock.now(), client.today()
        sync_configured_keys(conn, client.configured_keys, now)
        claimed = claim_shards(conn, shards)
        if claimed is None:
            context.log.warning(f"webex {shards}: pulled by another run right now; nothing to do")
            due: list[FollowedKey] = []
            keys_due = 0
        else:
            keys_due, _ = due_backlog(conn, claimed, now)
            due = due_keys(conn, claimed, now, limit=budget.requests)
            if claimed != shards:
                context.log.warning(f"webex {shards}: only {claimed} are free; the others are "
                                    "being pulled by another run")
        followed = {key.key: key for key in due}
        context.log.info(f"webex {shards}: {keys_due} keys due; budget "
                         f"{budget.requests or 'unlimited'} requests in {budget.seconds:.0f} s")

        def windows() -> Iterator[KeyWindow]:
            for key in due:
                if not spending.allows_another(api.committed):
                    return
                yield key_window(key.key, key.loaded_through, today, initial_days=client.initial_days,
                                 lookback_days=client.lookback_days)

        batch: list[tuple[KeyIncrement, PulledKey]] = []
        batch_rows = 0

        def flush() -> None:
            nonlocal keys_loaded, batch_rows
            if batch:
                stats = load_increments(conn, batch, mapper, stamp, now, context.run_id)
                outcome.loads.append(stats)
                log_load(context, stats)
                for increment, _ in batch:
                    truncations.extend(_report_key(context, increment, hide))
                keys_loaded += len(batch)
                batch.clear()
                batch_rows = 0

        with closing(api.fetch_keys(windows())) as fetched:
            for done, result in enumerate(fetched, start=1):
                if isinstance(result, KeyFailure):
                    consecutive += 1
                    _fail_key(context, result, consecutive, hide, stop=consecutive >= give_up_after)
                    failures.append(result)
                    continue
                consecutive = 0
                known = followed[result.window.key]
                activity = last_activity(result, known.last_activity_on)
                batch.append((result, PulledKey(
                    key=known.key, first=result.window.first, last=result.window.last,
                    truncated=[(day.local_date, day.returned) for day in result.truncated],
                    last_activity_on=activity,
                    due_at=DUE_POLICY.next_due(now, today, activity, known.seen_at))))
                batch_rows += len(result.transactions)
                if len(batch) >= BATCH_KEYS or batch_rows >= BATCH_ROWS:
                    flush()
                if done % _PROGRESS_EVERY == 0:
                    context.log.info(f"webex: {done} of {keys_due} due keys done")
            flush()
        outcome.api_calls, outcome.retries = api.calls, api.retries
        left, oldest = (due_backlog(conn, claimed, now, pulled_by=context.run_id)
                        if claimed is not None else (0, None))
    outcome.duration_s = time.monotonic() - started
    waited_h = (clock.now() - oldest) / timedelta(hours=1) if oldest else 0.0
    outcome.extra = {
        "shards": str(shards),
        "keys_due": keys_due,
        "keys_loaded": keys_loaded,
        "keys_failed": len(failures),
        "keys_left_for_later": left,
        "oldest_due_key_waited_h": round(waited_h, 2),
        "budget_requests": budget.requests if budget.requests is not None else "unlimited",
        "budget_seconds": round(budget.seconds),
        "calls_per_key": round(outcome.api_calls / keys_loaded, 3) if keys_loaded else 0,
        "truncated_days": len(truncations),
        "truncations": MetadataValue.md(_table(truncations, _TRUNCATIONS_SHOWN, "truncated days")),
    }
    return outcome, failures


def _fail_key(context: AssetExecutionContext, failure: KeyFailure, consecutive: int,
              hide: Callable[[str], str], *, stop: bool) -> None:
    """Report a key's failure; raise it when the run cannot usefully go on."""
    window = failure.window
    failure.error.add_note(f"while loading webex key {hide(window.key)} "
                           f"({window.first.isoformat()} .. {window.last.isoformat()})")
    if failure.fatal:
        raise failure.error
    if stop:
        failure.error.add_note(f"{consecutive} keys failed in a row: stopping the run")
        raise failure.error
    context.log.error(f"webex key {hide(window.key)}: {failure.error}; skipped, its watermark stays")


def _report_key(context: AssetExecutionContext, increment: KeyIncrement,
                hide: Callable[[str], str]) -> list[dict[str, Any]]:
    """Warn of a key's truncated days and return them as rows of the run's truncation table."""
    key = hide(increment.window.key)
    rows: list[dict[str, Any]] = [
        {"key": key, "local_date": day.local_date.isoformat(), "returned": day.returned}
        for day in increment.truncated]
    if rows:
        context.log.warning(
            f"webex key {key}: {len(rows)} day(s) fill a whole answer on their own, so older "
            f"transactions of them may be missing: {', '.join(r['local_date'] for r in rows)} "
            "(recorded in ops.webex_truncations)")
    return rows


def _table(rows: list[dict[str, Any]], limit: int, what: str) -> str:
    if not rows:
        return f"no {what}"
    table = str(pd.DataFrame(rows[:limit]).to_markdown(index=False))
    if len(rows) > limit:
        table += f"\n\n… and {len(rows) - limit} more {what}"
    return table


def check_keys_fresh(outcome: RangeLoad, bound_hours: int) -> AssetCheckResult:
    """Whether every due key of the run's shards was pulled, or has waited less than the bound."""
    waited = outcome.extra["oldest_due_key_waited_h"]
    return AssetCheckResult(
        asset_key=RAW_SPEC.key, check_name=KEYS_FRESH, passed=waited <= bound_hours,
        metadata={"keys_left_for_later": outcome.extra["keys_left_for_later"],
                  "oldest_due_key_waited_h": waited, "bound_h": bound_hours})


@multi_asset(name=f"{SOURCE}_load", specs=[RAW_SPEC, EVENTS_SPEC], pool=SOURCE,
             partitions_def=SHARDS, backfill_policy=BackfillPolicy.single_run(),
             check_specs=[*check_specs(RAW_SPEC.key, EVENTS_SPEC.key), truncations_spec(RAW_SPEC.key),
                          KEYS_FRESH_SPEC],
             description="For the due keys of the run's shards (ops.webex_keys), the longest due "
                         "first and as far as the run's share of the vendor's budget goes, "
                         "concurrently: ask for each key's transactions from its watermark (less "
                         "the lookback) to today (tenant-local days), splitting windows whose "
                         "answer is full; load keys in batches, each batch's rows with its keys' "
                         "watermarks, truncated days and next due times in one transaction.")
def webex_load(context: AssetExecutionContext, webex: WebexClient, warehouse: Warehouse,
               model_settings: ModelSettings) -> Iterable[MaterializeResult[Any] | AssetCheckResult]:
    record_worker(context.instance, context.run_id)
    client = webex
    mapper = mapper_for(client, model_settings)
    shards = Shards(tuple(sorted(int(key) for key in context.partition_keys)), len(SHARDS.get_partition_keys()))
    outcome, failures = load_keys(context, client, warehouse, mapper, shards)
    yield from results(warehouse, SOURCE, RAW_SPEC.key, EVENTS_SPEC.key, outcome,
                       scope_rows=_SCOPES_SHOWN)
    with warehouse.connect() as conn:  # keys are not days: the checks cover all Webex rows
        yield from run_checks(conn, SOURCE, TARGET.raw_table, RAW_SPEC.key, EVENTS_SPEC.key, None)
        yield check_truncations(conn, RAW_SPEC.key, warehouse.pseudonym)
    yield check_keys_fresh(outcome, client.max_key_lag_hours)
    if failures:
        rows = [{"key": warehouse.pseudonym(failure.window.key), "error": str(failure.error)}
                for failure in failures]
        raise Failure(
            description=f"{len(failures)} of {outcome.extra['keys_due']} due Webex keys failed; "
                        "the others loaded, and the failed ones stay due and are re-asked from "
                        "their watermark next run",
            metadata={"failed_keys": MetadataValue.md(_table(rows, _FAILURES_SHOWN, "failed keys"))})
