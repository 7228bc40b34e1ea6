"""Run the sandbox as a child process for the length of a `with` block."""

import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from sandbox.config import SandboxConfig

_READY_PREFIX = "SANDBOX_URL="
# All the sandbox child inherits: what Python and the locale need, and the tests' pinned clock
# (tests/pinned_clock).
# Never the parent's secrets (vendor credentials, warehouse URLs with passwords, the PII key).
_INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "PYTHONPATH",
              "VIRTUAL_ENV", "PIPELINES_TEST_NOW", "PIPELINES_TEST_CLOCK")
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class RunningSandbox:
    url: str
    config: SandboxConfig
    pid: int

    def advance(self) -> int:
        """Move every status one step along its chain (Sent -> Delivered...)."""
        return httpx.post(f"{self.url}/_sandbox/advance", timeout=10).json()["generation"]


def _dying_with(parent: int) -> Callable[[], None]:
    """What the child runs before exec: ask Linux to SIGTERM it when `parent` dies, so that a
    killed `make run` leaves no sandbox behind.

    SIGTERM is set back to its default first: a child inherits an ignored signal, and a parent
    may ignore SIGTERM without knowing it (Dagster maps SIGTERM to SIGINT's handler, which is
    "ignore" in a command started in the background), and then neither its death nor its own
    terminate() would stop the sandbox. A parent that died before the request was made (it
    would never be told) is checked for after it."""
    def die_with_parent() -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        except (OSError, AttributeError):  # not Linux: the parent's cleanup still stops it
            return
        if os.getppid() != parent:
            os._exit(1)

    return die_with_parent


@contextmanager
def sandbox_process(config: SandboxConfig, startup_timeout_s: float = 30.0) -> Iterator[RunningSandbox]:
    env = {name: os.environ[name] for name in _INHERITED if name in os.environ}
    env["SANDBOX_CONFIG"] = config.to_json()
    child = subprocess.Popen([sys.executable, "-m", "sandbox"], env=env, stdout=subprocess.PIPE,
                             stdin=subprocess.DEVNULL, text=True, preexec_fn=_dying_with(os.getpid()))
    try:
        line = _read_ready_line(child, startup_timeout_s)
        yield RunningSandbox(url=line.removeprefix(_READY_PREFIX).strip(), config=config, pid=child.pid)
    finally:
        child.terminate()  # SIGTERM: the sandbox keeps no state, and SIGINT may be ignored
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        if child.stdout:
            child.stdout.close()


def _read_ready_line(child: subprocess.Popen, timeout_s: float) -> str:
    import selectors

    selector = selectors.DefaultSelector()
    selector.register(child.stdout, selectors.EVENT_READ)
    if not selector.select(timeout_s):
        raise RuntimeError(f"sandbox did not start within {timeout_s:.0f}s")
    line = child.stdout.readline()
    if not line.startswith(_READY_PREFIX):
        raise RuntimeError(f"sandbox failed to start (exit code {child.poll()})")
    return line
