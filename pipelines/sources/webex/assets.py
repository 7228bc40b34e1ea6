"""Webex assets: raw landing and normalized events, pulled per customer key from its watermark.

Keys are fetched concurrently by the client's worker threads; every write happens on this
thread's one connection. Keys are loaded in batches: a batch's rows and every one of its keys'
watermarks and truncated days commit in one transaction, so a watermark never covers rows that
are not there, and thousands of small keys do not pay a transaction each."""

import time
from collections.abc import Callable, Iterable
from contextlib import closing
from datetime import timedelta
from functools import partial
from typing import Any

import pandas as pd
import psycopg
from dagster import (
    AssetCheckResult,
    AssetExecutionContext,
    Failure,
    FreshnessPolicy,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)

from pipelines.orchestration.checks import (
    check_specs,
    check_truncations,
    run_checks,
    truncations_spec,
)
from pipelines.orchestration.materialize import RangeLoad, log_load, results, source_specs
from pipelines.orchestration.run_workers import record_worker
from pipelines.orchestration.settings import ModelSettings
from pipelines.sources.webex.client import KeyFailure, KeyIncrement, WebexClient, key_window
from pipelines.sources.webex.mapping import SOURCE, map_transaction
from pipelines.transport.paging import Page
from pipelines.warehouse.key_state import (
    read_watermarks,
    record_key_state,
    release_corrected_quarantine,
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
    # Pulled every 30 minutes (pipelines/schedules.py).
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


def record_batch_state(increments: list[KeyIncrement], cursor: psycopg.Cursor, scope: LoadScope,
                       stats: LoadStats, run_id: str | None) -> None:
    """The batch's state, in its transaction: corrected transactions leave quarantine, and
    each key's watermark and truncated days are recorded."""
    release_corrected_quarantine(cursor)
    for increment in increments:
        window = increment.window
        record_key_state(cursor, window.key, window.first, window.last,
                         [(day.local_date, day.returned) for day in increment.truncated], run_id)


def load_increments(conn: psycopg.Connection, increments: list[KeyIncrement], mapper: Mapper,
                    stamp: Stamp, run_id: str | None) -> LoadStats:
    """A batch of keys' increments in one transaction: rows, quarantine, and each key's
    watermark and truncations commit together."""
    pages = [Page(records=increment.transactions, context={"key": increment.window.key})
             for increment in increments]
    stats = load_pages(conn, _SCOPE, pages, mapper, stamp=stamp, run_id=run_id,
                       record_state=partial(record_batch_state, increments))
    stats.scope = f"{len(increments)} keys"
    stats.pages = sum(increment.requests for increment in increments)  # answers read
    return stats


def load_keys(context: AssetExecutionContext, client: WebexClient, warehouse: Warehouse,
              mapper: Mapper) -> tuple[RangeLoad, list[KeyFailure]]:
    """Fetch every key's window concurrently and load each as it arrives, on this thread.

    Keys are personal data: logs, error notes and metadata show them by their pseudonym
    (`warehouse.pseudonym`), never in clear.

    A key that fails is reported and skipped (its watermark stays, so the next run re-asks it);
    failures that would hit every key (credentials, path), or a run of consecutive failures
    (the vendor is down), stop the run at once."""
    started = time.monotonic()
    outcome = RangeLoad()
    failures: list[KeyFailure] = []
    truncations: list[dict[str, Any]] = []
    keys = client.key_list
    give_up_after = 2 * client.max_concurrency + 1
    consecutive = 0
    keys_loaded = 0
    hide, stamp = warehouse.pseudonym, warehouse.stamp(sandbox=client.sandbox)
    with client.session() as api, warehouse.connect() as conn:
        today = client.today()
        watermarks = read_watermarks(conn, keys)
        windows = (key_window(key, watermarks.get(key), today, initial_days=client.initial_days,
                              lookback_days=client.lookback_days) for key in keys)
        batch: list[KeyIncrement] = []

        def flush() -> None:
            nonlocal keys_loaded
            if batch:
                stats = load_increments(conn, batch, mapper, stamp, context.run_id)
                outcome.loads.append(stats)
                log_load(context, stats)
                for increment in batch:
                    truncations.extend(_report_key(context, increment, hide))
                keys_loaded += len(batch)
                batch.clear()

        with closing(api.fetch_keys(windows)) as fetched:
            for done, result in enumerate(fetched, start=1):
                if isinstance(result, KeyFailure):
                    consecutive += 1
                    _fail_key(context, result, consecutive, hide, stop=consecutive >= give_up_after)
                    failures.append(result)
                    continue
                consecutive = 0
                batch.append(result)
                if (len(batch) >= BATCH_KEYS
                        or sum(len(increment.transactions) for increment in batch) >= BATCH_ROWS):
                    flush()
                if done % _PROGRESS_EVERY == 0:
                    context.log.info(f"webex: {done} of {len(keys)} keys done")
            flush()
        outcome.api_calls, outcome.retries = api.calls, api.retries
    outcome.duration_s = time.monotonic() - started
    outcome.extra = {
        "keys": len(keys),
        "keys_loaded": keys_loaded,
        "keys_failed": len(failures),
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


@multi_asset(name=f"{SOURCE}_load", specs=[RAW_SPEC, EVENTS_SPEC], pool=SOURCE,
             check_specs=[*check_specs(RAW_SPEC.key, EVENTS_SPEC.key), truncations_spec(RAW_SPEC.key)],
             description="For every configured customer key, concurrently: ask for its "
                         "transactions from its watermark to today (tenant-local days), "
                         "splitting windows whose answer is full; load keys in batches, each "
                         "batch's rows with its keys' watermarks and truncated days in one "
                         "transaction.")
def webex_load(context: AssetExecutionContext, webex: WebexClient, warehouse: Warehouse,
               model_settings: ModelSettings) -> Iterable[MaterializeResult[Any] | AssetCheckResult]:
    record_worker(context.instance, context.run_id)
    client = webex
    mapper: Mapper = partial(
        map_transaction, zone=client.zone,
        default_region=model_settings.phone_default_region)
    outcome, failures = load_keys(context, client, warehouse, mapper)
    yield from results(warehouse, SOURCE, RAW_SPEC.key, EVENTS_SPEC.key, outcome,
                       scope_rows=_SCOPES_SHOWN)
    with warehouse.connect() as conn:  # Webex has no partitions: the checks cover all its rows
        yield from run_checks(conn, SOURCE, TARGET.raw_table, RAW_SPEC.key, EVENTS_SPEC.key, None)
        yield check_truncations(conn, RAW_SPEC.key, warehouse.pseudonym)
    if failures:
        rows = [{"key": warehouse.pseudonym(failure.window.key), "error": str(failure.error)}
                for failure in failures]
        raise Failure(
            description=f"{len(failures)} of {outcome.extra['keys']} Webex keys failed; the "
                        "others loaded, and the failed ones are re-asked from their watermark "
                        "next run",
            metadata={"failed_keys": MetadataValue.md(_table(rows, _FAILURES_SHOWN, "failed keys"))})
