"""Keyed pseudonyms for personal values (phone numbers, emails, customer keys) wherever they
would leave the warehouse: logs, error notes, Dagster metadata. The same value always gives the
same pseudonym under one key, so whoever holds the key can still trace it; nobody else can
recover it (an HMAC, not a plain hash that a list of phone numbers would reverse)."""

import hashlib
import hmac


def pseudonym(value: str, key: str) -> str:
    """`value` as `pii:` and 16 hex digits of its HMAC-SHA256 under `key`."""
    digest = hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()
    return f"pii:{digest[:16]}"
