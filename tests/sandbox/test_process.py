"""The sandbox as a child process: it stops when asked, and when its parent dies."""

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from sandbox.config import SandboxConfig
from sandbox.process import sandbox_process


def ignored_signals(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("SigIgn:")[1].split()[0], 16)


def test_the_sandbox_obeys_sigterm_even_when_its_parent_ignores_it() -> None:
    """Dagster maps SIGTERM to SIGINT's handler, and a command started in the background has
    SIGINT ignored: a sandbox that inherited that would outlive a killed parent."""
    parent = textwrap.dedent("""
        import signal
        from sandbox.config import SandboxConfig
        from sandbox.process import sandbox_process
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        with sandbox_process(SandboxConfig()) as sandbox:
            print(sandbox.pid, flush=True)
            input()
    """)
    process = subprocess.Popen([sys.executable, "-c", parent], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    try:
        child = int(process.stdout.readline())
        assert not ignored_signals(child) & (1 << (signal.SIGTERM - 1))
    finally:
        process.communicate("\n", timeout=30)
    assert process.returncode == 0


def test_the_sandbox_stops_with_its_block() -> None:
    with sandbox_process(SandboxConfig()) as sandbox:
        assert not ignored_signals(sandbox.pid) & (1 << (signal.SIGTERM - 1))
    try:
        alive = "State:\tZ" not in Path(f"/proc/{sandbox.pid}/status").read_text()
    except FileNotFoundError:  # reaped
        alive = False
    assert not alive
