"""`make dashboards`: Apache Superset on the warehouse that `make run` loads, its dashboards
imported from the bundle versioned under dashboards/superset/bundle/.

- Superset lives in a virtual environment of its own, `.venv-bi`, made from
  requirements/bi.txt (exact pins, hashes required) with uv: none of its dependencies meets the
  pipeline's `.venv`. A stamp (the lock's hash and the interpreter) says when it is current.
- It reads the warehouse as `pipelines_analyst`, a member of the `analyst` role: the marts only,
  where people appear as keyed pseudonyms. Its own state (users, charts, dashboards) is the
  `superset` database on the same server, owned by `pipelines_superset`, which reaches nothing
  else. With WAREHOUSE_URL, DASHBOARDS_ANALYST_URL and DASHBOARDS_METADATA_URL name both.
- The bundle names the analyst login without its password; Superset stores the URI that way
  and dashboards/superset/superset_config.py adds the password at each connection, from the
  environment given to Superset here. Secrets (Superset's key, the admin's password) are
  generated once under .local/superset/ and never printed.
- It starts the local stack as `make ui` does and first brings the mart tables up to date (a
  run of the `marts` asset, as `make ui`'s sensor does after every load), while Superset
  prepares itself.
- Superset's schema upgrade and role set-up run only when the Superset or the config they were
  made with changed: the metadata database carries the stamp of what prepared it (its comment).
  The bundle is imported on every start, over what Superset has: the repo, not the UI, is the
  truth; `--export` writes the dashboards as they are in Superset back to the bundle.
"""

import fcntl
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg

from local_stack import private
from local_stack.embedded import EmbeddedPostgres
from local_stack.launcher import ConfigurationError, local_stack
from local_stack.marts import refresh_marts
from local_stack.roles import provision_dashboards
from pipelines.paths import LOCAL_DIR, PROJECT_ROOT
from pipelines.warehouse.urls import libpq_url, unverified_remote

SUPERSET_DIR = PROJECT_ROOT / "dashboards" / "superset"
CONFIG = SUPERSET_DIR / "superset_config.py"
BUNDLE = SUPERSET_DIR / "bundle"
LOCK = PROJECT_ROOT / "requirements" / "bi.txt"
VENV = PROJECT_ROOT / ".venv-bi"
# Written last, once an install succeeded: the lock's hash and the interpreter it was made with.
STAMP = VENV / ".installed"
DEFAULT_PORT = 8088
ADMIN = "admin"
# How the bundle's database file names the warehouse: the analyst login, no host, no password.
# Replaced by the real URI (still without its password) when the bundle is imported, and put
# back when it is exported.
BUNDLE_WAREHOUSE_URI = "postgresql+psycopg2://pipelines_analyst@/warehouse"
_URI_KEY = "sqlalchemy_uri: "


def bi_python() -> Path:
    """The BI venv's python: made, or brought to requirements/bi.txt, when its stamp is not the
    lock's and this interpreter's; reused as it is otherwise. One install at a time (a lock
    file beside the venv): a second caller waits, then finds the stamp."""
    python = VENV / "bin" / "python"
    wanted = f"{hashlib.sha256(LOCK.read_bytes()).hexdigest()} {sys.version_info[0]}.{sys.version_info[1]}\n"
    with _exclusive(VENV.with_name(f"{VENV.name}.lock")):
        current = STAMP.read_text() if STAMP.exists() else None
        if current == wanted and python.exists():
            return python
        if not python.exists() or (current is not None and current.split()[1:] != wanted.split()[1:]):
            shutil.rmtree(VENV, ignore_errors=True)
            _install_step([sys.executable, "-m", "venv", "--without-pip", str(VENV)])
        STAMP.unlink(missing_ok=True)
        # sync: exactly the lock, whatever an older lock left. No bytecode is compiled here: most
        # of the venv is never imported, and Superset's first start writes what it imports.
        from uv import find_uv_bin

        _install_step([find_uv_bin(), "pip", "sync", "--quiet", "--require-hashes",
                       "--python", str(python), str(LOCK)])
        STAMP.write_text(wanted)
    return python


@contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _install_step(command: list[str]) -> None:
    """Run an install step; on failure stop with its output's tail."""
    env = {name: value for name, value in os.environ.items()
           if name not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    result = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command[:3])} … failed:\n{(result.stdout + result.stderr)[-3000:]}")


@dataclass(frozen=True)
class SupersetDatabases:
    analyst: str   # the warehouse as the `analyst` role's login, password included
    metadata: str  # Superset's own database


def superset_databases(server: EmbeddedPostgres | None, environ: Mapping[str, str]) -> SupersetDatabases:
    """The embedded server's BI logins, or with a real warehouse the URLs its administrators
    gave (a login granted `analyst`, and a database of Superset's own)."""
    if server is not None:
        urls = provision_dashboards(server)
        return SupersetDatabases(analyst=urls.analyst, metadata=urls.metadata)
    given = {name: environ.get(name, "") for name in ("DASHBOARDS_ANALYST_URL", "DASHBOARDS_METADATA_URL")}
    if missing := [name for name, url in given.items() if not url]:
        raise ConfigurationError(f"{', '.join(missing)} required with WAREHOUSE_URL: a login granted the "
                                 "analyst role on the warehouse, and a database for Superset's own state")
    if environ.get("PIPELINES_ALLOW_UNVERIFIED_TLS") != "1":
        if unverified := [name for name, url in given.items() if unverified_remote(url, environ)]:
            raise ConfigurationError(f"{', '.join(unverified)}: a remote database needs sslmode=verify-full "
                                     "(or verify-ca); PIPELINES_ALLOW_UNVERIFIED_TLS=1 only on a trusted network")
    return SupersetDatabases(analyst=given["DASHBOARDS_ANALYST_URL"], metadata=given["DASHBOARDS_METADATA_URL"])


def _psycopg2(url: str) -> str:
    """`url` with the driver Superset's PostgreSQL support uses."""
    parts = urlsplit(libpq_url(url))
    return urlunsplit(parts._replace(scheme="postgresql+psycopg2"))


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.netloc.rpartition("@")[0].partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}@{parts.netloc.rpartition('@')[2]}"))


@dataclass(frozen=True)
class Superset:
    """How to run Superset's commands against one warehouse, and where its state is kept."""

    python: Path
    environment: dict[str, str]  # Superset's processes' whole environment, secrets included
    warehouse_uri: str            # the warehouse as the bundle is imported with it: no password
    metadata_url: str             # for psycopg
    home: Path

    def command(self, *arguments: str, extra_env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """`superset ARGUMENTS` in the BI venv; its output is returned, and on failure shown."""
        result = subprocess.run([str(self.python.with_name("superset")), *arguments], cwd=self.home,
                                env=self.environment | dict(extra_env or {}), stdin=subprocess.DEVNULL,
                                capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"superset {arguments[0]} failed:\n{(result.stdout + result.stderr)[-3000:]}")
        return result


def superset_for(python: Path, databases: SupersetDatabases, local_dir: Path) -> Superset:
    """Superset's environment: the project's config, its secrets from local state, its database
    URLs; nothing of the pipeline's own environment besides what any process needs (not
    PYTHONDONTWRITEBYTECODE either: its bytecode is written on its first start, see bi_python)."""
    state = private.private_dir(local_dir / "superset")
    home = private.private_dir(state / "home")
    passed_on = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "SSL_CERT_FILE", "SSL_CERT_DIR")
    environment = {name: os.environ[name] for name in passed_on if name in os.environ} | {
        "SUPERSET_CONFIG_PATH": str(CONFIG),
        "SUPERSET_HOME": str(home),
        "SUPERSET_SECRET_KEY": private.kept_secret(state / "secret.key"),
        "SUPERSET_METADATA_URL": _psycopg2(databases.metadata),
        "SUPERSET_WAREHOUSE_URL": _psycopg2(databases.analyst),
        "FLASK_APP": "superset",
        "PYTHONUNBUFFERED": "1",
    }
    return Superset(python=python, environment=environment, home=home,
                    warehouse_uri=_without_password(_psycopg2(databases.analyst)),
                    metadata_url=libpq_url(databases.metadata))


def admin_password(local_dir: Path) -> tuple[str, bool]:
    """The admin's password, kept under .local/superset/, and whether it was just generated."""
    path = local_dir / "superset" / "admin.password"
    new = not path.exists()
    return private.kept_secret(path), new


def prepare(superset: Superset, password: str, *, password_is_new: bool) -> None:
    """Superset's schema, roles and admin, unless the metadata database was prepared by this
    Superset and config already."""
    stamp = _preparation_stamp()
    if password_is_new or _prepared_by(superset.metadata_url) != stamp:
        superset.command("db", "upgrade")
        superset.command("init")
        credentials = {"FLASK_FAB_CREATE_ADMIN_PASSWORD": password, "FLASK_FAB_RESET_PASSWORD_PASSWORD": password}
        created = superset.command("fab", "create-admin", "--username", ADMIN, "--firstname", "Admin",
                                   "--lastname", "Superset", "--email", "admin@localhost", extra_env=credentials)
        if "already exists" in created.stdout:  # an earlier start's admin: it gets the kept password
            superset.command("fab", "reset-password", "--username", ADMIN, extra_env=credentials)
        _stamp_prepared(superset.metadata_url, stamp)


def import_bundle(url: str, password: str, warehouse_uri: str) -> None:
    """The versioned bundle, imported over what Superset has: its database, datasets, charts and
    dashboard all overwritten (Superset's assets import API; its CLI's dashboard import leaves
    existing datasets and charts as they were)."""
    with tempfile.TemporaryDirectory(prefix="dashboards-") as scratch:
        bundle = Path(scratch) / "bundle.zip"
        write_bundle(bundle, warehouse_uri)
        with httpx.Client(base_url=url, timeout=120) as client:
            login = client.post("/api/v1/security/login", json={
                "username": ADMIN, "password": password, "provider": "db", "refresh": False})
            login.raise_for_status()
            client.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
            csrf = client.get("/api/v1/security/csrf_token/")  # and the session cookie it belongs to
            csrf.raise_for_status()
            client.headers["X-CSRFToken"] = csrf.json()["result"]
            imported = client.post("/api/v1/assets/import/",
                                   files={"bundle": ("bundle.zip", bundle.read_bytes(), "application/zip")})
    if imported.status_code != 200:
        raise RuntimeError(f"importing {BUNDLE.relative_to(PROJECT_ROOT)} failed: {imported.text[:3000]}")


def _preparation_stamp() -> str:
    """What a prepared metadata database depends on: Superset's pinned versions and the config."""
    return "superset " + hashlib.sha256(LOCK.read_bytes() + CONFIG.read_bytes()).hexdigest()[:32]


def _prepared_by(metadata_url: str) -> str | None:
    with psycopg.connect(metadata_url) as conn:
        row = conn.execute("SELECT shobj_description(oid, 'pg_database') FROM pg_database "
                           "WHERE datname = current_database()").fetchone()
    return row[0] if row else None


def _stamp_prepared(metadata_url: str, stamp: str) -> None:
    """Record the stamp on the database itself: it goes with the database, whatever happens to
    local files. A login that does not own it cannot; then it is prepared on every start."""
    from psycopg import errors, sql

    with psycopg.connect(metadata_url, autocommit=True) as conn:
        database = conn.execute("SELECT current_database()").fetchone()
        try:
            conn.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(database[0] if database else ""), sql.Literal(stamp)))
        except errors.InsufficientPrivilege:
            pass


def write_bundle(path: Path, warehouse_uri: str) -> None:
    """The versioned bundle as the zip Superset imports, its warehouse URI made the real one."""
    files = sorted(file for file in BUNDLE.rglob("*.yaml") if file.is_file())
    with zipfile.ZipFile(path, "w") as archive:
        for file in files:
            relative = file.relative_to(BUNDLE)
            text = file.read_text()
            if relative.parts[0] == "databases":
                text = _with_uri(text, BUNDLE_WAREHOUSE_URI, warehouse_uri)
            archive.writestr(f"bundle/{relative}", text)


def _with_uri(text: str, expected: str | None, uri: str) -> str:
    """The database file's `sqlalchemy_uri` line set to `uri` (it must read `expected` if given)."""
    lines = text.splitlines(keepends=True)
    [index] = [number for number, line in enumerate(lines) if line.startswith(_URI_KEY)]
    if expected is not None and lines[index].strip() != f"{_URI_KEY}{expected}":
        raise ValueError(f"a bundle's database reads {lines[index].strip()!r}, not {_URI_KEY}{expected}")
    lines[index] = f"{_URI_KEY}{uri}\n"
    return "".join(lines)


def export(superset: Superset) -> list[Path]:
    """The dashboards as Superset has them now, written over the bundle (its warehouse URI back
    to the login alone): what an edit made in the UI needs to be kept."""
    with tempfile.TemporaryDirectory(prefix="dashboards-export-") as scratch:
        archive_path = Path(scratch) / "export.zip"
        superset.command("export-dashboards", "--dashboard-file", str(archive_path))
        with zipfile.ZipFile(archive_path) as archive:
            contents = {Path(*Path(name).parts[1:]): archive.read(name).decode()
                        for name in archive.namelist() if name.endswith(".yaml")}
    contents.pop(Path("metadata.yaml"))  # the bundle's own: only its export time would change
    for folder in ("charts", "dashboards", "databases", "datasets"):
        shutil.rmtree(BUNDLE / folder, ignore_errors=True)
    written = []
    for relative, text in sorted(contents.items()):
        if relative.parts[0] == "databases":
            text = _with_uri(text, None, BUNDLE_WAREHOUSE_URI)
        # Superset suffixes each file with its object's id in this Superset: not in the repo.
        target = BUNDLE / relative.with_name(re.sub(r"_[0-9]+$", "", relative.stem) + relative.suffix)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        written.append(target)
    return written


def serve(superset: Superset, port: int) -> subprocess.Popen[bytes]:
    """Superset's web server (gunicorn: one process, threads for a dashboard's parallel charts)
    on this machine only."""
    return subprocess.Popen(
        [str(superset.python.with_name("gunicorn")), "--bind", f"127.0.0.1:{port}", "--workers", "1",
         "--worker-class", "gthread", "--threads", "8", "--timeout", "120", "--graceful-timeout", "10",
         "--no-control-socket", "superset.app:create_app()"],
        cwd=superset.home, env=superset.environment, stdin=subprocess.DEVNULL,
        # A command started in the background inherits SIGINT ignored; gunicorn needs it back.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def wait_until_up(url: str, server: subprocess.Popen[bytes], timeout_s: float = 180) -> None:
    """Until Superset answers its health check; an error if it exits or never does."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"Superset's web server exited ({server.returncode}) before it answered")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"Superset did not answer at {url} within {timeout_s:.0f} s")


def dashboards(*, export_bundle: bool = False) -> int:
    """Start the local stack (as `make ui` does), bring the marts up to date, prepare Superset and
    serve the dashboards until Ctrl-C or SIGTERM. With `export_bundle`, write Superset's
    dashboards back to the bundle instead, and stop."""
    from dagster import DagsterInstance

    local_dir = Path(os.environ.get("PIPELINES_LOCAL_DIR") or LOCAL_DIR)
    port = int(os.environ.get("DASHBOARDS_PORT") or DEFAULT_PORT)
    python = bi_python()
    with local_stack(local_dir=local_dir) as stack, private.private_local_state(local_dir):
        superset = superset_for(python, superset_databases(stack.server, os.environ), local_dir)
        if export_bundle:
            for path in export(superset):
                print(f"wrote {path.relative_to(PROJECT_ROOT)}")
            return 0
        password, new = admin_password(local_dir)
        # Superset's own preparation runs in its processes meanwhile: neither needs the other.
        with ThreadPoolExecutor(max_workers=1) as background:
            prepared = background.submit(prepare, superset, password, password_is_new=new)
            with DagsterInstance.get() as instance:
                refreshed = refresh_marts(instance)
            prepared.result()
        if not refreshed:  # interrupted too: Dagster turns Ctrl-C into a failed run
            print("Refreshing the mart tables FAILED (see the marts run in make ui)", file=sys.stderr)
            return 1
        server = serve(superset, port)

        def stop(signum: int, frame: object) -> None:
            server.send_signal(signal.SIGTERM)  # gunicorn's graceful stop

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(url, server)
            import_bundle(url, password, superset.warehouse_uri)
        except (RuntimeError, httpx.HTTPError):
            server.kill()
            server.wait()
            raise
        print(f"Dashboards: {url}/superset/dashboard/messaging-campaigns/  (login {ADMIN}, password in "
              f"{(local_dir / 'superset' / 'admin.password')})  Ctrl-C stops", flush=True)
        server.wait()
        return 0
