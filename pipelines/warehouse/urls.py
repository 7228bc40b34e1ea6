"""One warehouse URL, spelled the way each client library wants it."""

from collections.abc import Mapping

from sqlalchemy.engine import make_url


def libpq_url(url: str) -> str:
    """`postgresql://...` for psycopg and libpq, whatever driver suffix the input carries."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def sqlalchemy_url(url: str) -> str:
    """`postgresql+psycopg://...` so SQLAlchemy uses psycopg 3."""
    return make_url(url).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def redacted(url: str) -> str:
    """The URL with its password masked, for logs and messages."""
    return make_url(url).render_as_string(hide_password=True)



_THIS_MACHINE = {"localhost", "127.0.0.1", "::1"}
_VERIFYING_MODES = {"verify-ca", "verify-full"}


def unverified_remote(url: str, environ: Mapping[str, str]) -> bool:
    """True when `url` reaches another machine without TLS that verifies the server (libpq's
    `sslmode` verify-ca or verify-full, from the URL or PGSSLMODE): credentials and personal
    data would cross the network to whoever answers. A Unix socket or loopback stays here."""
    parsed = make_url(url)
    hosts = parsed.query.get("host") or parsed.host or ""
    for host in ([hosts] if isinstance(hosts, str) else list(hosts)):
        for name in host.split(","):
            if name and not name.startswith("/") and name.strip("[]") not in _THIS_MACHINE:
                mode = parsed.query.get("sslmode") or environ.get("PGSSLMODE") or "prefer"
                return mode not in _VERIFYING_MODES
    return False
