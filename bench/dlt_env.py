"""dlt, the bench's peer for mGage, in a virtual environment of its own.

dlt's dependencies are not Dagster's, so dlt never enters the bench's .venv: `ensure_dlt_python`
makes `.venv-bench-dlt` beside it from requirements/bench-dlt.txt (exact pins, hashes required)
and `run_dlt_mgage` runs bench/dlt_peer.py with that venv's python in a child process."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from datetime import date
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
LOCK = REPO / "requirements" / "bench-dlt.txt"
VENV = REPO / ".venv-bench-dlt"
PEER = Path(__file__).resolve().parent / "dlt_peer.py"
# Written last, once the install succeeded: the lock's hash and the interpreter it was made with.
STAMP = VENV / ".installed"


def _venv_python() -> Path:
    return VENV / "bin" / "python"


def _wanted_stamp() -> str:
    return f"{hashlib.sha256(LOCK.read_bytes()).hexdigest()} {sys.version_info[0]}.{sys.version_info[1]}\n"


def _run(command: list[str]) -> None:
    """Run an install step; on failure stop with its output's tail."""
    result = subprocess.run(command, capture_output=True, text=True, check=False, env=_clean_env())
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])} … failed:\n{(result.stdout + result.stderr)[-3000:]}")


def _clean_env() -> dict[str, str]:
    """This process's environment without what would point a child at the bench's own venv."""
    return {name: value for name, value in os.environ.items()
            if name not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}


def ensure_dlt_python() -> Path:
    """The dlt venv's python, made (or remade from scratch) when its stamp does not match
    requirements/bench-dlt.txt and this interpreter's version; reused as it is otherwise."""
    wanted = _wanted_stamp()
    if STAMP.exists() and STAMP.read_text() == wanted and _venv_python().exists():
        return _venv_python()
    shutil.rmtree(VENV, ignore_errors=True)
    _run([sys.executable, "-m", "venv", str(VENV)])
    _run([str(_venv_python()), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
          "--require-hashes", "--no-deps", "-r", str(LOCK)])
    STAMP.write_text(wanted)
    return _venv_python()


def run_dlt_mgage(*, base_url: str, username: str, password: str, program_id: str, day: date,
                  database_url: str, page_size: int = 500) -> dict[str, Any]:
    """Load one program's UTC day of mGage messages (MT, then MO) with dlt's rest_api source
    into a fresh dataset on `database_url`. Returns dlt_peer.py's JSON line: records (read back
    from the table), seconds (of pipeline.run), peak_rss_mb (of the child alone), dlt_version."""
    python = ensure_dlt_python()
    dataset = f"dlt_mgage_{uuid.uuid4().hex[:12]}"
    with tempfile.TemporaryDirectory(prefix="bench-dlt-") as pipelines_dir:
        # The password travels in the environment, not on a command line that `ps` shows.
        env = _clean_env() | {"MGAGE_PASSWORD": password, "DLT_DATABASE_URL": database_url}
        result = subprocess.run(
            [str(python), str(PEER), "--base-url", base_url, "--username", username,
             "--program-id", program_id, "--day", day.isoformat(), "--dataset", dataset,
             "--page-size", str(page_size), "--pipelines-dir", pipelines_dir],
            env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"dlt peer failed:\n{result.stderr[-3000:]}")
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))
