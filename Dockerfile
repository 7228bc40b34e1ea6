# The code location's image: a gRPC server of pipelines.definitions, and the image of every run
# the Kubernetes run launcher starts (deploy/README.md). Build from the project root:
#   docker build -t REGISTRY/messaging-pipelines:$(git rev-parse --short HEAD) .
#
# The official Python 3.11 slim image (Debian 13), pinned by the digest of its multi-platform
# index as docker-library/repo-info recorded it for python:3.11.16-slim-trixie: the build gets
# these bytes or fails. Moving to a newer one (Debian security fixes) is a change to this line.
FROM python:3.11.16-slim-trixie@sha256:be1575ed968de893bd54f4c56315ff7c4736ce522c1bca08fd521731aafc0d76

# No pip or uv cache left in a layer; bytecode compiled once here, since the user that runs the
# image cannot write it. VENV is where deploy/image/install.sh installs.
ENV VENV=/opt/venv \
    PIP_NO_CACHE_DIR=1 \
    UV_NO_CACHE=1 \
    UV_COMPILE_BYTECODE=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

WORKDIR /opt/pipelines

# Every install step is deploy/image/install.sh, which tests/deploy runs as it is (no container
# builder there). The locked dependencies first: this layer is rebuilt only when a lock changes.
COPY requirements/bootstrap.txt requirements/runtime.txt requirements/
COPY deploy/image/install.sh deploy/image/
RUN deploy/image/install.sh dependencies

# Then the production package alone, with its SQL, the entrypoint and the migrate Job's script:
# no tests, sandbox, bench or local stack (.dockerignore keeps them out of the build context).
COPY pyproject.toml README.md ./
COPY sql/ sql/
COPY pipelines/ pipelines/
COPY deploy/image/entrypoint.py deploy/image/migrate.py deploy/image/
RUN deploy/image/install.sh project

# A user without a login or a home of its own; DAGSTER_HOME is the Helm chart's, where the run
# launcher mounts the instance's dagster.yaml, and the one directory it may write.
RUN useradd --system --uid 10001 --no-create-home --home-dir /opt/dagster/dagster_home \
        --shell /usr/sbin/nologin pipelines \
    && mkdir -p /opt/dagster/dagster_home \
    && chown pipelines /opt/dagster/dagster_home
ENV PATH=/opt/venv/bin:$PATH \
    DAGSTER_HOME=/opt/dagster/dagster_home
USER 10001

EXPOSE 4000
# The chart and the run launcher give the container its whole command line as arguments
# (`dagster api grpc ...`, `dagster api execute_run ...`), which replace CMD: the entrypoint
# completes the environment (each optional setting's default, the data origin) and runs them.
ENTRYPOINT ["python", "/opt/pipelines/deploy/image/entrypoint.py"]
CMD ["dagster", "code-server", "start", "-m", "pipelines.definitions", "-h", "0.0.0.0", "-p", "4000"]
