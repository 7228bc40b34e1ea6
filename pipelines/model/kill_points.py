"""Named points where a test may kill this process with SIGKILL, to prove that a run killed
exactly there leaves nothing a re-run cannot finish (the activations' exactly-once sends).
Inert unless PIPELINES_KILL_AT names the point, optionally with the pass to die on:
`activation.answered@3` kills at the third time that point is reached."""

import os
import signal
from collections import Counter
from functools import cache

VARIABLE = "PIPELINES_KILL_AT"
_passes: Counter[str] = Counter()


@cache
def _target() -> tuple[str, int] | None:
    value = os.environ.get(VARIABLE, "").strip()
    if not value:
        return None
    name, _, nth = value.partition("@")
    return name, int(nth or 1)


def kill_point(name: str) -> None:
    """Die here, at once and without cleanup, if this is the configured point and pass."""
    target = _target()
    if target is None or target[0] != name:
        return
    _passes[name] += 1
    if _passes[name] == target[1]:
        os.kill(os.getpid(), signal.SIGKILL)
