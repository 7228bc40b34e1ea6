#!/bin/sh
# The image's install steps, in one place: the Dockerfile runs them, and tests/deploy runs this
# same script in a fresh virtual environment (no container builder on the test machines).
#
#   VENV=/opt/venv deploy/image/install.sh dependencies   # from the project root
#   VENV=/opt/venv deploy/image/install.sh project
#
# dependencies: a virtual environment with exactly requirements/runtime.txt (the runtime's lock,
#   no dev extra), every file checked against its hash, after pip, setuptools and uv at the
#   versions of requirements/bootstrap.txt, as `make install` does.
# project: the code location, pipelines/ only, without dependencies. Editable, because the
#   package finds its SQL beside itself (pipelines/paths.py: <root>/sql), which a wheel would
#   leave behind; the package's finder maps `pipelines` alone, nothing else of the root.
#
# PYTHON (default python3) makes the environment. Caches follow pip's and uv's own settings:
# the Dockerfile turns them off (PIP_NO_CACHE_DIR, UV_NO_CACHE) and compiles bytecode
# (UV_COMPILE_BYTECODE); the test keeps the caches, so that it stays fast.
set -eu

: "${VENV:?VENV must name the virtual environment to install into}"
PYTHON="${PYTHON:-python3}"

case "${1:-}" in
dependencies)
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes \
        -r requirements/bootstrap.txt
    "$VENV/bin/uv" pip install --quiet --python "$VENV/bin/python" --require-hashes --no-deps \
        -r requirements/runtime.txt
    ;;
project)
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
        --no-build-isolation --no-index --editable .
    "$VENV/bin/python" -m compileall -q pipelines
    "$VENV/bin/python" -m pip check --disable-pip-version-check
    ;;
*)
    echo "usage: VENV=<dir> $0 dependencies|project" >&2
    exit 2
    ;;
esac
