"""A gzip bomb served by the sandbox over real HTTP: about 100 KB on the wire, 100 MB inflated.
The client refuses it while inflating, past its byte cap, and does not ask again."""

import dataclasses
from datetime import date

import pytest

from pipelines.sources.mgage.client import MgageClient
from pipelines.transport.http import MAX_BODY_BYTES, BodyTooLarge
from sandbox.faults import FaultSettings
from sandbox.server import gzip_bomb, serve_in_thread
from tests.conftest import TEST_SANDBOX

BOMBING = dataclasses.replace(TEST_SANDBOX, faults=FaultSettings(rates={"bomb": 1.0}))


def test_the_sandbox_bomb_is_refused_past_the_byte_cap() -> None:
    assert len(gzip_bomb()) < 1_000_000 < MAX_BODY_BYTES < 100_000_000
    with serve_in_thread(BOMBING) as (url, app):
        client = MgageClient(base_url=url, username=BOMBING.mgage.username,
                             password=BOMBING.mgage.password, program_ids="1001",
                             time_slices=1, max_concurrency=1)  # one walk: the bomb is its first page
        with client.session() as api, pytest.raises(BodyTooLarge, match="bytes decoded; refused"):
            list(api.day_pages(date(2026, 11, 16)))
        assert api.http.calls == 1 and app.state.faults.injected == {"bomb": 1}
