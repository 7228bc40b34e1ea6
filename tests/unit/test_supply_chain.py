"""What `make install` installs is exactly what was locked: every dependency pinned to one
version with the hashes of its files, every range in pyproject.toml bounded, and pip told to
refuse anything unhashed."""

import re
import tomllib

from pipelines.paths import PROJECT_ROOT

LOCKS = [PROJECT_ROOT / "requirements" / "lock.txt", PROJECT_ROOT / "requirements" / "bootstrap.txt"]


def requirements(lock: str) -> list[str]:
    """The lock's requirements, each with its continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", lock)
    return [line for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_every_locked_requirement_is_one_version_with_hashes() -> None:
    for lock in LOCKS:
        entries = requirements(lock.read_text())
        assert entries, lock
        for entry in entries:
            assert re.match(r"^[A-Za-z0-9_.\-\[\]]+==[^\s;]+", entry), entry
            assert "--hash=sha256:" in entry, entry


def test_every_dependency_range_has_an_upper_bound() -> None:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    ranges = [*project["dependencies"], *(d for extra in project["optional-dependencies"].values() for d in extra)]
    # tzdata is the year of the time-zone rules: a bound would only hold back newer rules.
    unbounded = [r for r in ranges if "<" not in r and "==" not in r and not r.startswith("tzdata")]
    assert unbounded == []


def test_make_installs_from_the_locks_and_refuses_unhashed_files() -> None:
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    assert "--require-hashes" in makefile
    assert "-r requirements/bootstrap.txt" in makefile and "-r $(LOCK)" in makefile
    assert "pip-audit" in makefile
