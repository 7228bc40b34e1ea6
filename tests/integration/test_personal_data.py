"""Personal data stays in the warehouse: after a `make run` of every source, no recipient
(E.164 number, email, app device id) and no Webex customer key appears in Dagster's database
(runs, event logs with their metadata, checks) or in its files (compute logs), nor in what
make run prints. Where a key must be named (a failed or truncated key), it is a pseudonym."""

import subprocess
import sys
from datetime import datetime
from pathlib import Path

import psycopg
import pytest

from local_stack.embedded import embedded_postgres
from pipelines.model.pseudonyms import pseudonym
from pipelines.paths import PROJECT_ROOT
from tests.support import child_run_env, everything_written

pytestmark = pytest.mark.slow


def test_no_recipient_or_key_leaves_the_warehouse(tmp_path: Path, instant: datetime) -> None:
    run = subprocess.run([sys.executable, "-m", "local_stack", "run"], cwd=PROJECT_ROOT,
                         env=child_run_env(tmp_path, instant, DAYS="1"),
                         capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    with embedded_postgres(tmp_path / "pgdata") as server, \
            psycopg.connect(server.database_url("warehouse")) as conn:
        recipients = {value for (value,) in conn.execute("SELECT DISTINCT recipient FROM core.message_events")}
        keys = {value for (value,) in conn.execute("SELECT key FROM ops.webex_keys")}
    assert len(recipients) > 1_000 and "919900000001" in keys  # the search looks where the data is
    written = everything_written(tmp_path)
    written.pop("database warehouse")
    dagster = {"stdout": run.stdout, "stderr": run.stderr} | written
    personal = recipients | keys
    leaks = {(value, place) for value in personal for place, text in dagster.items() if value in text}
    assert leaks == set()
    # The truncated busy key is named, by its pseudonym.
    key = (tmp_path / "pii.key").read_text().strip()
    assert pseudonym("919900000001", key) in dagster["database dagster"]
