"""The embedded warehouse: a real PostgreSQL from the `pgserver` wheel, data under .local/.

The process that starts it owns it: the server stops when the last owning process ends, so no
stray server outlives a command. A server left running by a killed owner is adopted by the
next one, which then stops it in turn.

A data directory is initialized beside its final place and renamed into it once complete, so a
first start killed at any instant never leaves a half-made directory that no server can start.
"""

import json
import shutil
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import psycopg
from psycopg import sql

from pipelines.paths import LOCAL_DIR

DEFAULT_DATA_DIR = LOCAL_DIR / "pgdata"
WAREHOUSE_DATABASE = "warehouse"

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

# pgserver keeps the pids of the processes holding the server in this file and stops the
# server when the last one exits; a SIGKILLed holder never removes itself, so we forget it.
_HANDLES_FILE = ".handle_pids.json"


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
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        import pgserver

        data_dir.parent.mkdir(parents=True, exist_ok=True)
        _initialize_atomically(pgserver, data_dir.resolve())
        _forget_dead_handles(data_dir.resolve())
        server = pgserver.get_server(data_dir, cleanup_mode="stop")
        if _apply_settings(server.get_uri()):
            server.cleanup()  # settings such as shared_buffers take effect on a restart
            server = pgserver.get_server(data_dir, cleanup_mode="stop")
    try:
        yield EmbeddedPostgres(server)
    finally:
        server.cleanup()


def _initialize_atomically(pgserver, data_dir: Path) -> None:
    """Make `data_dir` an initialized data directory unless it is one already.

    pgserver runs initdb in place, and initdb writes PG_VERSION (by which pgserver decides
    that a directory is initialized) long before it is done. So the directory is made under
    another name, by a server started and stopped there, then renamed into place."""
    if (data_dir / "PG_VERSION").exists():
        return
    building = data_dir.with_name(f"{data_dir.name}.building")
    _stop_servers_on(building)  # a first start killed while its server was up
    shutil.rmtree(building, ignore_errors=True)
    if data_dir.exists():  # never initialized (only ever made by an older version)
        shutil.rmtree(data_dir)
    building.mkdir()
    pgserver.get_server(building, cleanup_mode="stop").cleanup()
    building.rename(data_dir)


def _stop_servers_on(data_dir: Path) -> None:
    for process in psutil.process_iter(["name", "cmdline"]):
        if process.info["name"] == "postgres" and str(data_dir) in (process.info["cmdline"] or []):
            process.kill()
            psutil.wait_procs([process], timeout=10)


def _apply_settings(admin_url: str) -> bool:
    """Write SERVER_SETTINGS that differ from the server's; True if a restart is needed."""
    restart = False
    with psycopg.connect(admin_url, autocommit=True) as conn:
        for name, value in SERVER_SETTINGS.items():
            current, context = conn.execute(
                "SELECT current_setting(name), context FROM pg_settings WHERE name = %s", (name,)).fetchone()
            wanted = conn.execute("SELECT %s::text", (value,)).fetchone()[0]
            if current.replace(" ", "").lower() != wanted.lower():
                conn.execute(sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.Identifier(name), sql.Literal(value)))
                restart = restart or context == "postmaster"
        conn.execute("SELECT pg_reload_conf()")
    return restart


class EmbeddedPostgres:
    """A running embedded server; hands out URLs of databases on it."""

    def __init__(self, server) -> None:
        self._server = server

    def database_url(self, name: str = WAREHOUSE_DATABASE, *, role: str | None = None) -> str:
        """URL of database `name`, created on first use (TEMPORARY shim: role logins)."""
        ensure_database(self._server.get_uri(), name)
        if role is None:
            return self._server.get_uri(name)
        with psycopg.connect(self._server.get_uri(), autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
                conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        return self._server.get_postmaster_info().get_uri(user=role, database=name)

    @property
    def pid(self) -> int | None:
        return self._server.get_pid()
