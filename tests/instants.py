"""The instants the suite runs at: no test reads the wall clock, so none depends on the day or
the hour it runs.

Every test runs with the clock pinned (ticking) at `SUITE_INSTANT`, or at the instant given
with `pytest --instant=...`; tests marked `day_sensitive` also run at each of `HARD_INSTANTS`,
the moments where a date computed in the wrong zone, or twice across a midnight, goes wrong.
The product, Dagster and an in-process sandbox all read the pinned clock; processes a test
starts read it through `pinned_environment`."""

import os
from datetime import UTC, datetime
from pathlib import Path

SUITE_INSTANT = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)  # a Wednesday, 20:30 in Kolkata

HARD_INSTANTS = {
    "utc-midnight": datetime(2026, 11, 18, 0, 0, 30, tzinfo=UTC),
    "before-utc-midnight": datetime(2026, 11, 18, 23, 59, 30, tzinfo=UTC),
    # 00:00:30 on the 19th in Asia/Kolkata (UTC+05:30), the Webex tenant's zone in the tests.
    "kolkata-midnight": datetime(2026, 11, 18, 18, 30, 30, tzinfo=UTC),
    # 01:30 EST, the second pass through 01:00-02:00 in New York (SenderGuide's zone).
    "new-york-fall-back": datetime(2026, 11, 1, 6, 30, tzinfo=UTC),
    # 03:30 EDT, just after New York's clocks skipped 02:00-03:00.
    "new-york-spring-forward": datetime(2026, 3, 8, 7, 30, tzinfo=UTC),
    "leap-day": datetime(2028, 2, 29, 12, 0, tzinfo=UTC),
    "new-year": datetime(2026, 12, 31, 23, 59, 30, tzinfo=UTC),
}

_PIN_VARIABLE = "PIPELINES_TEST_NOW"
_FROZEN_VARIABLE = "PIPELINES_TEST_CLOCK"
_PIN_SITE = Path(__file__).parent / "pinned_clock"


def pinned_environment(instant: datetime, environ: dict[str, str], frozen: bool = False) -> dict[str, str]:
    """`environ` for a child process whose clock (and its children's) starts at `instant`, and
    ticks from there unless `frozen`."""
    path = os.pathsep.join(filter(None, [str(_PIN_SITE), environ.get("PYTHONPATH")]))
    pinned = environ | {"PYTHONPATH": path, _PIN_VARIABLE: instant.isoformat()}
    pinned.pop(_FROZEN_VARIABLE, None)
    return pinned | ({_FROZEN_VARIABLE: "frozen"} if frozen else {})
