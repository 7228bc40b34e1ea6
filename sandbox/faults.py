"""Deterministic, seeded fault injection for the sandbox.

Transport faults wrap any vendor's answer at the request seam: 429 with Retry-After (seconds or
an HTTP date), 500/502/503, a connection closed mid-body, truncated JSON, an answer slower
than the client's timeout, a small gzip body that inflates to 100 MB (a gzip bomb). Each fires
on a request with probability `rate`, decided by hashing the seed, the mode, the request and
how many times that same request was seen; a request is faulted at most `max_consecutive`
times in a row, so a client that retries (or a run that is re-run) gets through.

Record faults: every vendor sends malformed records (missing fields, unparseable dates,
numbers or emails that are not, the string "null") until the status generation reaches
`corrected_at_generation`; mGage also repeats records across pages and sends next-page URLs
on another origin or looping back (each at most once per walk)."""

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from email.utils import format_datetime

from pipelines.model import clock
from sandbox.data import Draw

TRANSPORT_MODES = ("throttle", "server_error", "drop", "truncate", "slow", "bomb")
RECORD_MODES = ("malformed", "duplicate", "foreign_next", "loop_next")


@dataclass
class FaultSettings:
    seed: int = 1
    # mode -> probability per request (transport) or per record / page (record faults).
    rates: dict[str, float] = field(default_factory=dict)
    max_consecutive: int = 2
    slow_s: float = 3.0
    retry_after_s: int = 1
    corrected_at_generation: int = 1

    def rate(self, mode: str) -> float:
        return self.rates.get(mode, 0.0)


class FaultPlan:
    """Decides, deterministically, which requests and records are faulted."""

    def __init__(self, settings: FaultSettings) -> None:
        self.settings = settings
        self._seen: dict[str, int] = {}
        self._lock = threading.Lock()
        self.injected: dict[str, int] = {}

    def transport_fault(self, fingerprint: str) -> str | None:
        """The transport fault for this attempt of a request, if any."""
        active = [mode for mode in TRANSPORT_MODES if self.settings.rate(mode) > 0]
        if not active:
            return None
        with self._lock:
            attempt = self._seen.get(fingerprint, 0)
            self._seen[fingerprint] = attempt + 1
        if attempt >= self.settings.max_consecutive:
            return None
        for mode in active:
            if Draw(self.settings.seed, "transport", mode, fingerprint, attempt).unit(0) < self.settings.rate(mode):
                self._count(mode)
                return mode
        return None

    def record_fault(self, mode: str, *key: object, once: bool = False) -> bool:
        """Whether the record (or page) named by `key` carries fault `mode`; with `once`, only
        the first time that key is served (a paging glitch a re-run gets past)."""
        rate = self.settings.rate(mode)
        if rate <= 0 or Draw(self.settings.seed, mode, *key).unit(0) >= rate:
            return False
        if once:
            name = "|".join(map(str, (mode, *key)))
            with self._lock:
                if self._seen.get(name):
                    return False
                self._seen[name] = 1
        self._count(mode)
        return True

    def malformed(self, generation: int, vendor: str, records: list[dict], identity: Callable[[dict], object],
                  date_field: str, number_field: str) -> list[dict]:
        """`records` with the faulted ones broken, until the generation says they are corrected."""
        if generation >= self.settings.corrected_at_generation or self.settings.rate("malformed") <= 0:
            return records
        result = []
        for record in records:
            key = identity(record)
            if self.record_fault("malformed", vendor, key):
                record = malform(record, Draw(self.settings.seed, "malformed", vendor, key),
                                 date_field, number_field)
            result.append(record)
        return result

    def retry_after(self, fingerprint: str) -> str:
        """Retry-After in seconds, or for some requests as an HTTP date."""
        if Draw(self.settings.seed, "retry-after", fingerprint).unit(1) < 0.5:
            return str(self.settings.retry_after_s)
        when = clock.now() + timedelta(seconds=self.settings.retry_after_s)
        return format_datetime(when, usegmt=True)

    def _count(self, mode: str) -> None:
        with self._lock:
            self.injected[mode] = self.injected.get(mode, 0) + 1


def malform(record: dict, draw: Draw, date_field: str, number_field: str) -> dict:
    """One of the ways a vendor record arrives broken."""
    broken = dict(record)
    kind = draw.below(2, 4)
    if kind == 0:
        broken.pop(date_field, None)
    elif kind == 1:
        broken[date_field] = "32/13/2026 25:61"
    elif kind == 2:
        broken[number_field] = "not-a-number"
    else:
        broken[number_field] = "null"
    return broken
