"""Keyed pseudonyms for personal values (phone numbers, emails, customer keys) wherever they
would leave the warehouse: logs, error notes, Dagster metadata. The same value always gives the
same pseudonym under one key, so whoever holds the key can still trace it; nobody else can
recover it (an HMAC, not a plain hash that a list of phone numbers would reverse)."""

import hashlib
import hmac


class Pseudonyms:
    """The pseudonyms under one key, for many values (the loader stamps one per row): the HMAC
    is keyed once and copied per value, which saves the two key blocks of every fresh one."""

    def __init__(self, key: str) -> None:
        self._keyed = hmac.new(key.encode(), digestmod=hashlib.sha256)

    def __call__(self, value: str) -> str:
        """`value` as `pii:` and 16 hex digits of its HMAC-SHA256 under the key."""
        mac = self._keyed.copy()
        mac.update(value.encode())
        return f"pii:{mac.hexdigest()[:16]}"


def pseudonym(value: str, key: str) -> str:
    """One value's pseudonym under `key` (see Pseudonyms)."""
    return Pseudonyms(key)(value)
