"""Webex keys split into a fixed number of shards, the partitions of the Webex load, so that a
deployment whose run launcher spreads runs over machines pulls several shards at once.

A key's shard is a stable hash of the key modulo the shard count (ops.webex_keys.shard_hash),
so a key is in exactly one shard, and changing the count (`WEBEX_SHARDS`, read when the code
location loads) re-homes keys without losing anything: every key's state is its own row, not
its shard's. Change it with no Webex run in flight, or two runs may pull one key at once
(harmless to the rows, which are upserted, but wasted calls)."""

import os

from dagster import StaticPartitionsDefinition

DEFAULT_SHARD_COUNT = 4


def shard_count() -> int:
    """`WEBEX_SHARDS`, or 4."""
    value = os.environ.get("WEBEX_SHARDS") or str(DEFAULT_SHARD_COUNT)
    if not value.isdigit() or not 1 <= int(value) <= 1024:
        raise ValueError(f"WEBEX_SHARDS must be a whole number from 1 to 1024, not {value!r}")
    return int(value)


SHARDS = StaticPartitionsDefinition([str(shard) for shard in range(shard_count())])
