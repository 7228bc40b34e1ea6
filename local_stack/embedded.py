"""The embedded warehouse: a real PostgreSQL from the `pgserver` wheel, data under .local/.

The process that starts it owns it: the server stops when the last owning process ends, so no
stray server outlives a command. A server left running by a killed owner is adopted by the
next one, which then stops it in turn.

A data directory is initialized beside its final place and renamed into it once complete, so a
first start killed at any instant never leaves a half-made directory that no server can start.

Only the owner of local state can reach the server. Every connection needs its role's password
(scram-sha-256), generated once and kept beside the data directory (`pgdata.passwords/`, 0600
files in a 0700 folder). The socket is 0700 in a 0700 folder of the server's OS user: the data
directory, or when its path is too long for a socket, pgserver's runtime folder, made private
here after each start. pgserver initializes with `trust` for every local connection, so the data
directory is initialized here instead, with the password from the first instant; a directory
that pgserver or an older version initialized is brought to passwords on its next start.
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psutil
import psycopg
from psycopg import sql

from local_stack.private import EMBEDDED_SERVER_USER, kept_secret, local_state_dir, private_dir, write_private
from pipelines.paths import LOCAL_DIR

DEFAULT_DATA_DIR = LOCAL_DIR / "pgdata"
WAREHOUSE_DATABASE = "warehouse"
SUPERUSER = "postgres"

# Settings for a local warehouse that loads a day of a vendor at a time: room in memory for a
# partition's staging table, its sort and its indexes, and fewer checkpoints during big loads.
SERVER_SETTINGS = {
    "shared_buffers": "512MB",
    "temp_buffers": "256MB",
    "work_mem": "64MB",
    "maintenance_work_mem": "256MB",
    "max_wal_size": "4GB",
    "checkpoint_timeout": "15min",
}
# Passwords stored as SCRAM verifiers; the socket usable by the server's OS user (and root) only.
SECURITY_SETTINGS = {
    "password_encryption": "scram-sha-256",
    "unix_socket_permissions": "0700",
}

# Every connection, through the socket or TCP (pgserver listens on none), by password.
HBA = """\
# Written by local_stack/embedded.py: every connection needs its role's password.
# TYPE  DATABASE     USER  ADDRESS       METHOD
local   all          all                 scram-sha-256
host    all          all   127.0.0.1/32  scram-sha-256
host    all          all   ::1/128       scram-sha-256
local   replication  all                 scram-sha-256
host    replication  all   127.0.0.1/32  scram-sha-256
host    replication  all   ::1/128       scram-sha-256
"""

# pgserver keeps the pids of the processes holding the server in this file and stops the
# server when the last one exits; a SIGKILLed holder never removes itself, so we forget it.
_HANDLES_FILE = ".handle_pids.json"
# pg_advisory_xact_lock key: one creator of login roles at a time (an arbitrary, fixed number).
_ROLES_LOCK_KEY = 0x726F_6C65_7321
_ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def _forget_dead_handles(data_dir: Path) -> None:
    handles = data_dir / _HANDLES_FILE
    if not handles.exists():
        return
    try:
        pids = json.loads(handles.read_text() or "[]")
    except json.JSONDecodeError:
        pids = []
    live = [pid for pid in pids if psutil.pid_exists(pid)]
    if live != pids:
        handles.write_text(json.dumps(live))


def ensure_database(admin_url: str, name: str) -> None:
    """Create database `name` on the server if it is not there yet."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


@contextmanager
def embedded_postgres(data_dir: Path = DEFAULT_DATA_DIR) -> Iterator["EmbeddedPostgres"]:
    """Start (or adopt) the embedded server for the duration of the block."""
    data_dir = data_dir.resolve()
    local_state_dir(data_dir.parent)
    passwords = private_dir(data_dir.with_name(f"{data_dir.name}.passwords"))
    password = kept_secret(passwords / SUPERUSER)  # before initdb, which sets it
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        import pgserver

        _initialize_atomically(data_dir, password)
        _forget_dead_handles(data_dir)
        server = _start(pgserver, data_dir)
        admin_url = _url(server, SUPERUSER, password, SUPERUSER)
        try:
            _require_password(admin_url, data_dir, password)
            restart = _apply_settings(admin_url)
        except psycopg.OperationalError as error:
            if "password authentication failed" not in str(error):
                raise
            raise RuntimeError(f"{passwords / SUPERUSER} does not hold the password of the server on {data_dir}: "
                               "restore it, or delete both to start afresh") from None
        if restart:
            server.cleanup()  # settings such as shared_buffers take effect on a restart
            server = _start(pgserver, data_dir)
    try:
        yield EmbeddedPostgres(server, passwords)
    finally:
        server.cleanup()


def _initialize_atomically(data_dir: Path, password: str) -> None:
    """Make `data_dir` an initialized data directory unless it is one already.

    initdb writes PG_VERSION (by which pgserver decides that a directory is initialized) long
    before it is done. So the directory is made under another name, then renamed into place."""
    if (data_dir / "PG_VERSION").exists():
        return
    building = data_dir.with_name(f"{data_dir.name}.building")
    _stop_servers_on(building)  # an older version's first start killed while its server was up
    shutil.rmtree(building, ignore_errors=True)
    if data_dir.exists():  # never initialized (only ever made by an older version)
        shutil.rmtree(data_dir)
    _initdb(building, password)
    building.rename(data_dir)


def _initdb(data_dir: Path, password: str) -> None:
    """initdb as pgserver runs it (as its OS user when we are root), but with the superuser's
    password and scram-sha-256 from the first instant, our pg_hba.conf and our settings:
    pgserver's own initdb trusts every local connection."""
    from pgserver.postgres_server import POSTGRES_BIN_PATH

    data_dir.mkdir(mode=0o700)
    with tempfile.TemporaryDirectory(dir=data_dir.parent, prefix=".initdb-") as scratch:
        password_file = Path(scratch) / "password"
        write_private(password_file, password)
        if EMBEDDED_SERVER_USER is not None:  # what pgserver does before its own initdb as root
            from pgserver.utils import ensure_prefix_permissions, ensure_user_exists

            account = ensure_user_exists(EMBEDDED_SERVER_USER)
            for path in (data_dir, Path(scratch), password_file):
                os.chown(path, account.pw_uid, account.pw_gid)
            ensure_prefix_permissions(data_dir)
            ensure_prefix_permissions(POSTGRES_BIN_PATH)
        settings = [f"--set={name}={value}" for name, value in (SERVER_SETTINGS | SECURITY_SETTINGS).items()]
        try:
            subprocess.run([str(POSTGRES_BIN_PATH / "initdb"), f"--pgdata={data_dir}", f"--username={SUPERUSER}",
                            f"--pwfile={password_file}", "--auth=scram-sha-256", "--encoding=utf8", *settings],
                           user=EMBEDDED_SERVER_USER, check=True, capture_output=True, text=True)
        except subprocess.CalledProcessError as error:
            raise RuntimeError(f"initdb failed:\n{error.stdout}{error.stderr}") from error
    write_private(data_dir / "pg_hba.conf", HBA, owned_like=data_dir)


def _stop_servers_on(data_dir: Path) -> None:
    for process in psutil.process_iter(["name", "cmdline"]):
        if process.info["name"] == "postgres" and str(data_dir) in (process.info["cmdline"] or []):
            process.kill()
            psutil.wait_procs([process], timeout=10)


def _start(pgserver: Any, data_dir: Path) -> Any:
    """pgserver's server on `data_dir`, with what pgserver opens as root closed again.

    As root, pgserver opens every parent folder of the data directory to o+rx on every start
    (utils.ensure_prefix_permissions, unconditionally, before its own OS user touches anything).
    Nothing made beforehand helps (it adds o+rx whatever the mode), and placing the data
    elsewhere as root would orphan .local/pgdata: short of forking pgserver, it cannot be
    prevented, only undone. The folder of local state is narrowed back to 0711 here; the
    folders above it (the checkout and its parents, not ours) keep pgserver's o+rx."""
    server = pgserver.get_server(data_dir, cleanup_mode="stop")
    local_state_dir(data_dir.parent)
    _make_socket_private(server.get_postmaster_info(), data_dir)
    return server


def _make_socket_private(postmaster: Any, data_dir: Path) -> None:
    """The socket's folder is the server user's alone, and the socket there is the server's.

    The folder is the data directory (0700) unless its path is too long for a socket; then it
    is pgserver's runtime folder, which pgserver makes 0777 as root just before the server
    starts. The socket itself is 0700 from the server's first instant (unix_socket_permissions),
    so no other user could connect meanwhile; the check of its owner makes sure that nobody
    put a socket of their own in its place."""
    owner = data_dir.stat()
    if postmaster.socket_dir != data_dir:
        os.chown(postmaster.socket_dir, owner.st_uid, owner.st_gid)
        postmaster.socket_dir.chmod(0o700)
    if postmaster.socket_path.stat().st_uid != owner.st_uid:
        raise RuntimeError(f"{postmaster.socket_path} is not the embedded server's socket")


def _require_password(admin_url: str, data_dir: Path, password: str) -> None:
    """Bring a data directory initialized with `trust` (by pgserver, or by an older version of
    this module) to passwords: set the superuser's, then rewrite pg_hba.conf and reload. In that
    order, so that a kill in between leaves a server that still lets the next start finish."""
    if (data_dir / "pg_hba.conf").read_text() == HBA:
        return
    with psycopg.connect(admin_url, autocommit=True) as conn:  # trust lets any password in
        _set_password(conn, SUPERUSER, password)
        write_private(data_dir / "pg_hba.conf", HBA, owned_like=data_dir)
        conn.execute("SELECT pg_reload_conf()")


def _set_password(conn: psycopg.Connection[Any], role: str, password: str) -> None:
    """Give LOGIN role `role` `password`, sent as its SCRAM verifier: the password itself never
    reaches the server, nor its log should the statement fail."""
    verifier = conn.pgconn.encrypt_password(password.encode(), role.encode(), b"scram-sha-256").decode()
    conn.execute(sql.SQL("ALTER ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role), sql.Literal(verifier)))


def _apply_settings(admin_url: str) -> bool:
    """Write settings that differ from the server's; True if a restart is needed."""
    restart = False
    with psycopg.connect(admin_url, autocommit=True) as conn:
        for name, value in (SERVER_SETTINGS | SECURITY_SETTINGS).items():
            current, context = conn.execute(
                "SELECT current_setting(name), context FROM pg_settings WHERE name = %s", (name,)).fetchone()
            wanted = conn.execute("SELECT %s::text", (value,)).fetchone()[0]
            if current.replace(" ", "").lower() != wanted.lower():
                conn.execute(sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.Identifier(name), sql.Literal(value)))
                restart = restart or context == "postmaster"
        conn.execute("SELECT pg_reload_conf()")
    return restart


def _url(server: Any, role: str, password: str, database: str) -> str:
    socket_dir = server.get_postmaster_info().socket_dir
    return f"postgresql://{quote(role, safe='')}:{quote(password, safe='')}@/{quote(database, safe='')}" \
           f"?host={quote(str(socket_dir))}"


class EmbeddedPostgres:
    """A running embedded server; hands out URLs of databases on it, passwords included."""

    def __init__(self, server: Any, passwords: Path) -> None:
        self._server = server
        self._passwords = passwords

    def database_url(self, name: str = WAREHOUSE_DATABASE, *, role: str | None = None) -> str:
        """URL of database `name` (created on first use). role=None: the superuser, with its password.
        role="x": a LOGIN role "x" (created on first use, NOSUPERUSER, with a password generated once and
        kept in local state 0600 like the superuser's), with its password in the URL."""
        admin_url = self._url(SUPERUSER, SUPERUSER)
        ensure_database(admin_url, name)
        if role is None:
            return self._url(SUPERUSER, name)
        if role == SUPERUSER:
            raise ValueError(f"role={SUPERUSER!r} is the superuser: role=None")
        password = self._password(role)
        with psycopg.connect(admin_url, autocommit=True) as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_ROLES_LOCK_KEY,))  # two starts at once
            if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
                conn.execute(sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER").format(sql.Identifier(role)))
            _set_password(conn, role, password)  # the kept one, even if its file was lost
        return _url(self._server, role, password, name)

    @property
    def pid(self) -> int | None:
        return self._server.get_pid()

    def _url(self, role: str, database: str) -> str:
        return _url(self._server, role, self._password(role), database)

    def _password(self, role: str) -> str:
        if not _ROLE_NAME.fullmatch(role):  # it names the role's password file
            raise ValueError(f"role {role!r}: a lowercase letter or _, then lowercase letters, digits or _")
        return kept_secret(self._passwords / role)
