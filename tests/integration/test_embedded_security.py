"""The embedded server and local state are their owner's alone: every connection needs its
role's password (scram-sha-256), another OS user cannot even reach the socket, a data
directory that pgserver made with `trust` is upgraded in place, and local state is 0700/0600
(0711 for the folder the server's own OS user must pass through, as root)."""

import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from sqlalchemy.engine import make_url

from local_stack.embedded import EmbeddedPostgres, embedded_postgres
from local_stack.launcher import LocalStack, _dagster_home, _pii_key
from local_stack.private import private_local_state

AS_ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not AS_ROOT, reason="only root can run a command as another OS user")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def with_password(url: str, password: str | None) -> str:
    """`url` with another password, or none."""
    parts = urlsplit(url)
    login = parts.username if password is None else f"{parts.username}:{password}"
    return urlunsplit(parts._replace(netloc=f"{login}@{parts.hostname or ''}"))


@pytest.fixture(scope="module", params=["socket in the data directory", "socket in the runtime folder"])
def server(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EmbeddedPostgres, Path]]:
    """A server of the module's own; with a data path too long for a socket, pgserver puts the
    socket in its runtime folder instead (0777 as root)."""
    local = tmp_path_factory.mktemp("local")
    if request.param == "socket in the runtime folder":
        local = local / ("long" * 25)
        local.mkdir()
    with embedded_postgres(local / "pgdata") as running:
        yield running, local / "pgdata"


def test_every_connection_needs_its_password(server: tuple[EmbeddedPostgres, Path]) -> None:
    url = server[0].database_url()
    with pytest.raises(psycopg.OperationalError, match="no password supplied"):
        psycopg.connect(with_password(url, None))
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(with_password(url, "guessed"))
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT rolpassword LIKE 'SCRAM-SHA-256$%' FROM pg_authid "
                            "WHERE rolname = 'postgres'").fetchone() == (True,)
        methods = {method for (method,) in conn.execute("SELECT auth_method FROM pg_hba_file_rules")}
        assert methods == {"scram-sha-256"}


def test_the_socket_and_its_folder_are_the_server_users_alone(server: tuple[EmbeddedPostgres, Path]) -> None:
    running, data_dir = server
    socket = Path(make_url(running.database_url()).query["host"]) / ".s.PGSQL.5432"
    owner = data_dir.stat().st_uid
    assert socket.is_socket()
    assert (mode(socket), socket.lstat().st_uid) == (0o700, owner)
    assert (mode(socket.parent), socket.parent.stat().st_uid) == (0o700, owner)


@needs_root
def test_another_os_user_cannot_reach_the_socket_even_with_the_password(
        server: tuple[EmbeddedPostgres, Path]) -> None:
    from pgserver.postgres_server import POSTGRES_BIN_PATH

    psql = subprocess.run(["runuser", "-u", "nobody", "--", str(POSTGRES_BIN_PATH / "psql"),
                           server[0].database_url(), "-c", "SELECT 1"],
                          capture_output=True, text=True, timeout=30)
    assert psql.returncode != 0
    assert "Permission denied" in psql.stderr


def test_a_login_role_has_a_password_of_its_own_and_is_no_superuser(
        server: tuple[EmbeddedPostgres, Path]) -> None:
    running, data_dir = server
    url = running.database_url("warehouse", role="someone")
    assert make_url(url).username == "someone"
    assert running.database_url("warehouse", role="someone") == url  # the password is kept
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT current_user, rolsuper FROM pg_roles "
                            "WHERE rolname = current_user").fetchone() == ("someone", False)
    with pytest.raises(psycopg.OperationalError, match="no password supplied"):
        psycopg.connect(with_password(url, None))
    password_file = data_dir.with_name("pgdata.passwords") / "someone"
    assert password_file.read_text() == make_url(url).password
    assert mode(password_file) == 0o600
    assert mode(password_file.parent) == 0o700
    with pytest.raises(ValueError, match="role"):
        running.database_url(role="../pii.key")


def test_a_data_directory_made_with_trust_is_upgraded_in_place_and_keeps_its_data(tmp_path: Path) -> None:
    import pgserver

    data_dir = tmp_path / "pgdata"
    old = pgserver.get_server(data_dir, cleanup_mode="stop")  # trust, no password: the old way
    with psycopg.connect(old.get_uri(), autocommit=True) as conn:
        conn.execute("CREATE TABLE kept AS SELECT 42 AS answer")
    old.cleanup()

    for _ in range(2):  # upgraded on the first start, as it should be on the next
        with embedded_postgres(data_dir) as server:
            url = server.database_url("postgres")
            with psycopg.connect(url) as conn:
                assert conn.execute("SELECT answer FROM kept").fetchall() == [(42,)]
                assert conn.execute("SELECT count(*) FROM pg_hba_file_rules "
                                    "WHERE auth_method <> 'scram-sha-256'").fetchone() == (0,)
            with pytest.raises(psycopg.OperationalError, match="no password supplied"):
                psycopg.connect(with_password(url, None))
    assert mode(tmp_path / "pgdata.passwords" / "postgres") == 0o600


def test_the_local_stack_keeps_its_state_private(stack: LocalStack) -> None:
    home = Path(stack.environment["DAGSTER_HOME"])
    local = home.parent
    assert mode(local) == (0o711 if AS_ROOT else 0o700)  # as root the server's user passes through
    for folder in (home, home / "logs", home / "storage", local / "pgdata", local / "pgdata.passwords"):
        assert mode(folder) == 0o700, folder
    for secret in (local / "pii.key", local / "pgdata.passwords" / "postgres"):
        assert mode(secret) == 0o600, secret

    # What Dagster writes meanwhile, compute logs included, gets the block's umask.
    umask = os.umask(0o077)
    os.umask(umask)
    assert umask == 0o077
    compute_log = Path(stack.environment["DAGSTER_COMPUTE_LOGS_DIR"]) / "written-by-a-run.out"
    compute_log.write_text("what a step printed")
    assert mode(compute_log) == 0o600


def test_local_state_made_by_an_older_version_is_tightened(tmp_path: Path) -> None:
    local = tmp_path / "local"
    (local / "dagster" / "logs").mkdir(parents=True)
    (local / "pii.key").write_text("an old key")
    for path in (local, local / "dagster", local / "dagster" / "logs"):
        path.chmod(0o755)
    (local / "pii.key").chmod(0o644)
    umask = os.umask(0o022)
    try:
        with private_local_state(local):
            _dagster_home({}, local)
            assert _pii_key({}, local) == "an old key"
        assert os.umask(0o022) == 0o022  # given back on the way out
    finally:
        os.umask(umask)
    assert mode(local) == (0o711 if AS_ROOT else 0o700)
    assert [mode(local / "dagster"), mode(local / "dagster" / "logs")] == [0o700, 0o700]
    assert mode(local / "pii.key") == 0o600
