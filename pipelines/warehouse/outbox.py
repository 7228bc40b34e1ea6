"""The activation outbox (ops.activation_outbox): what a run intends to send is written here
before anything leaves, and every step of every send is committed, so that a run killed at
any moment leaves rows that say exactly what may have happened (see the migration
0011_activation_outbox.sql for the states)."""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
import psycopg

from pipelines.warehouse.queries import fetch_one, query


class ActivationBusy(RuntimeError):
    """Another run of the same activation holds it."""


@dataclass(frozen=True)
class AudienceRow:
    """One key of an activation's audience, checked: `reject_code` set when it cannot go."""

    event_key: str
    params: dict[str, Any]
    reject_code: str | None = None
    reject_text: str | None = None


@dataclass(frozen=True)
class OutboxRow:
    outbox_id: int
    event_key: str
    params: dict[str, Any]


@dataclass(frozen=True)
class UnsettledRow:
    outbox_id: int
    event_key: str
    attempt_started_at: datetime | None


class Outbox:
    """One activation's rows, over a connection that is not in autocommit mode: each method
    that changes a row commits it before returning, except `plan`, whose caller commits (or,
    for a dry run, rolls back)."""

    def __init__(self, conn: psycopg.Connection, activation: str, run_id: str) -> None:
        self.conn, self.activation, self.run_id = conn, activation, run_id

    def _params(self, **extra: Any) -> dict[str, Any]:
        return {"activation": self.activation, "run_id": self.run_id} | extra

    def hold(self) -> None:
        """Take the activation for this session, or raise ActivationBusy."""
        held = fetch_one(self.conn.execute(query("outbox_lock"), self._params()))[0]
        self.conn.commit()
        if not held:
            raise ActivationBusy(f"another run of activation {self.activation} is under way")

    def plan(self, event_id: str, audience: Iterable[AudienceRow], *, now: datetime,
             resend_after: timedelta | None, sandbox: bool) -> dict[tuple[str, str | None], int]:
        """Write the audience's due keys as rows (pending, or rejected with their reason),
        inside the caller's transaction; returns how many rows of each (state, reason), and
        the audience's size under ("audience", None) and its distinct keys under
        ("distinct_keys", None)."""
        self.conn.execute(query("outbox_stage"))
        size = 0
        with self.conn.cursor().copy("COPY activation_audience (ordinal, event_key, params, "
                                     "reject_code, reject_text) FROM STDIN") as copy:
            for size, row in enumerate(audience, start=1):
                copy.write_row((size, row.event_key, orjson.dumps(row.params).decode(),
                                row.reject_code, row.reject_text))
        distinct = fetch_one(self.conn.execute("SELECT count(DISTINCT event_key) FROM activation_audience"))[0]
        counts: dict[tuple[str, str | None], int] = {("audience", None): size,
                                                     ("distinct_keys", None): distinct}
        for state, code in self.conn.execute(query("outbox_plan"), self._params(
                event_id=event_id, now=now, resend_after=resend_after, sandbox=sandbox)).fetchall():
            counts[(state, code)] = counts.get((state, code), 0) + 1
        return counts

    def due(self, batch: int = 1_000) -> Iterator[OutboxRow]:
        """The pending rows, oldest first, read a batch at a time (each send commits, so no
        cursor stays open across them). A row sent back to pending during the walk waits for
        the next run."""
        after = 0
        while rows := self.conn.execute(query("outbox_due"), self._params(after=after, batch=batch)).fetchall():
            self.conn.commit()
            for outbox_id, event_key, params in rows:
                yield OutboxRow(outbox_id, event_key, params)
            after = rows[-1][0]

    def start(self, row: OutboxRow, now: datetime) -> bool:
        """Mark an attempt begun, committed before the request; False if another run took it."""
        taken = self.conn.execute(query("outbox_start"), self._params(
            outbox_id=row.outbox_id, now=now)).fetchone() is not None
        self.conn.commit()
        return taken

    def finish(self, outbox_id: int, state: str, *, now: datetime, transaction_id: str | None = None,
               error_code: str | None = None, error_text: str | None = None,
               settled_by: str | None = None) -> None:
        """Record what became of an attempt, committed at once."""
        self.conn.execute(query("outbox_finish"), self._params(
            outbox_id=outbox_id, state=state, now=now, transaction_id=transaction_id,
            error_code=error_code, error_text=error_text, settled_by=settled_by))
        self.conn.commit()

    def unsettled(self) -> list[UnsettledRow]:
        rows = self.conn.execute(query("outbox_unsettled"), self._params()).fetchall()
        self.conn.commit()
        return [UnsettledRow(*row) for row in rows]

    def claimed(self, transaction_ids: Iterable[str]) -> set[str]:
        """Which of these vendor transactions already settle a row (of any activation)."""
        rows = self.conn.execute(query("outbox_claimed"),
                                 {"transaction_ids": list(transaction_ids)}).fetchall()
        self.conn.commit()
        return {row[0] for row in rows}

    def run_states(self) -> dict[tuple[str, str | None], int]:
        """This run's rows by (state, reason)."""
        rows = self.conn.execute(query("outbox_run_states"), self._params()).fetchall()
        self.conn.commit()
        return {(state, code): count for state, code, count in rows}

    def preview(self) -> list[tuple[Any, ...]]:
        """A few rows this run touched: key, state, reason, attempts, settled_by, params."""
        rows = self.conn.execute(query("outbox_preview"), self._params()).fetchall()
        self.conn.commit()
        return rows

    def sent_twice(self, resend_after: timedelta | None) -> int:
        """Keys sent twice within the window (the activation's check)."""
        count = fetch_one(self.conn.execute(query("check_outbox_sent_twice"),
                                            self._params(resend_after=resend_after)))[0]
        self.conn.commit()
        return int(count)


