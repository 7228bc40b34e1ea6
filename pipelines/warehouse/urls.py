"""One warehouse URL, spelled the way each client library wants it."""

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

