"""Credential checks the fake vendors share."""

import base64
import hmac

from sandbox.server import Request


def basic_auth_ok(request: Request, username: str, password: str) -> bool:
    header = request.headers.get("Authorization") or ""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        given = base64.b64decode(encoded, validate=True).decode()
    except ValueError:
        return False
    return hmac.compare_digest(given, f"{username}:{password}")


def bearer_ok(request: Request, token: str) -> bool:
    header = request.headers.get("Authorization") or ""
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token)
