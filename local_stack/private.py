"""Local state is its owner's alone: the embedded server's data and passwords, Dagster's home
with its compute logs and artifacts, the pseudonyms' key — folders 0700, files 0600, secrets
written whole (a kill leaves the old file or the new one, never half of one).

One exception, as root. pgserver then runs postgres as an OS user of its own, "pgserver",
which owns the data directory (0700) and must pass through the folder holding it. That folder
(.local/) is 0711 then: other users may pass through it but not list it, and find nothing inside
that they may open — every entry is 0700/0600, or the server user's own."""

import os
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# The OS user postgres runs as: pgserver's own choice (postgres refuses to run as root).
EMBEDDED_SERVER_USER: str | None = "pgserver" if os.geteuid() == 0 else None


def private_dir(path: Path, *, traversable: bool = False) -> Path:
    """`path`, made if missing, usable by its owner only (0700); `traversable` lets other
    users pass through it to what they may open inside, without listing it (0711)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o711 if traversable else 0o700)
    return path


def local_state_dir(path: Path) -> Path:
    """`path` as the folder of local state: 0700, or 0711 when the embedded server runs as
    another OS user that must reach its data directory inside (see the module's docstring)."""
    return private_dir(path, traversable=EMBEDDED_SERVER_USER is not None)


@contextmanager
def private_local_state(local_dir: Path) -> Iterator[Path]:
    """For the block, whatever this process and the children it starts create is private
    (umask 077: Dagster writes compute logs with the process's umask), and `local_dir` is
    the folder of local state."""
    previous = os.umask(0o077)
    try:
        yield local_state_dir(local_dir)
    finally:
        os.umask(previous)


def write_private(path: Path, text: str, *, owned_like: Path | None = None) -> None:
    """Replace `path` whole with `text` (0600), owned like `owned_like` if given."""
    temp = _written_temp(path, text)
    try:
        if owned_like is not None:
            owner = owned_like.stat()
            os.chown(temp, owner.st_uid, owner.st_gid)
        temp.replace(path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def kept_secret(path: Path) -> str:
    """The secret kept in `path` (0600), generated on first use. The file appears complete or
    not at all, and is never replaced: of two first uses at once, both get the first one's."""
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        temp = _written_temp(path, secrets.token_urlsafe(32))
        try:
            os.link(temp, path)
        except FileExistsError:
            pass
        finally:
            temp.unlink()
    path.chmod(0o600)  # kept by an older version with the umask's mode
    return path.read_text().strip()


def _written_temp(path: Path, text: str) -> Path:
    """A new 0600 file beside `path` holding `text`, on disk."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    with os.fdopen(fd, "w") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())
    return Path(name)
