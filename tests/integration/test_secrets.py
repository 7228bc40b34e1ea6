"""Credentials come from the environment and go nowhere else: a full run with recognisable
secrets (and one wrong one, so that errors are raised and recorded) must not show them in
stdout, stderr, Dagster's event log, run records and files, or any warehouse table."""

import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from pipelines.paths import PROJECT_ROOT
from sandbox.config import (
    CinnoxSandbox,
    MgageSandbox,
    SandboxConfig,
    SenderGuideSandbox,
    WebexSandbox,
)
from sandbox.process import sandbox_process
from tests.support import child_run_env, everything_written

pytestmark = pytest.mark.slow

SECRETS = {
    "mgage_password": "S3CRET-mgage-pw-9f2c71",
    "senderguide_key": "S3CRET-senderguide-key-41aa0d",
    "cinnox_token": "S3CRET-cinnox-token-77be1f",
    "webex_key": "S3CRET-webex-key-c0ffee",
    "wrong_cinnox_token": "S3CRET-wrong-cinnox-token-5d3a9e",
}


def test_secrets_appear_nowhere(tmp_path: Path, instant: datetime) -> None:
    config = SandboxConfig(
        mgage=MgageSandbox(username="secret-test-user", password=SECRETS["mgage_password"],
                           daily_messages=50),
        senderguide=SenderGuideSandbox(api_key=SECRETS["senderguide_key"], daily_sends=40),
        cinnox=CinnoxSandbox(app_token=SECRETS["cinnox_token"], max_recipients=40),
        webex=WebexSandbox(api_key=SECRETS["webex_key"]))
    with sandbox_process(config) as sandbox:
        env = child_run_env(tmp_path, instant, **{  # every source configured as a real vendor would be
            "DAYS": "1",
            "MGAGE_BASE_URL": sandbox.url, "MGAGE_USERNAME": "secret-test-user",
            "MGAGE_PASSWORD": SECRETS["mgage_password"],
            "MGAGE_PROGRAM_IDS": ",".join(config.mgage.program_ids),
            "SENDERGUIDE_BASE_URL": sandbox.url, "SENDERGUIDE_API_KEY": SECRETS["senderguide_key"],
            "SENDERGUIDE_MESSAGE_IDS": ",".join(config.senderguide.message_ids),
            "SENDERGUIDE_TIMEZONE": config.senderguide.timezone,
            "CINNOX_BASE_URL": sandbox.url, "CINNOX_APP_ID": config.cinnox.app_id,
            "CINNOX_APP_TOKEN": SECRETS["wrong_cinnox_token"],  # fails: errors must not tell it
            "WEBEX_BASE_URL": sandbox.url, "WEBEX_API_KEY": SECRETS["webex_key"],
            "WEBEX_KEYS": ",".join(config.webex.keys), "WEBEX_MAX_REQUESTS_PER_SECOND": "0",
            "WEBEX_TIMEZONE": config.webex.timezone,
        })
        run = subprocess.run([sys.executable, "-m", "local_stack", "run"], cwd=PROJECT_ROOT, env=env,
                             capture_output=True, text=True, timeout=300)
    assert run.returncode == 1, run.stdout[-2000:] + run.stderr[-2000:]  # CINNOX failed, the rest loaded
    assert "cinnox: FAILED" in run.stdout and "mgage: loaded" in run.stdout
    assert "authentication failed" in run.stdout + run.stderr  # the error is there, the token not

    places = {"stdout": run.stdout, "stderr": run.stderr} | everything_written(tmp_path)

    assert "mgage" in places["database warehouse"]  # the search looks where the data is
    assert "RUN_SUCCESS" in places["database dagster"] or "STEP_SUCCESS" in places["database dagster"]
    leaks = {(name, place) for name, secret in SECRETS.items()
             for place, text in places.items() if secret in text}
    assert leaks == set()
