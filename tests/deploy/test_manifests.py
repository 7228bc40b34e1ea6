"""The Kubernetes manifests the project writes itself (deploy/k8s/), against the API schemas of a
pinned Kubernetes version, offline, with kubernetes-validate: strict, so an unknown or misspelt
field fails as the API server would refuse it."""

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from pipelines.paths import PROJECT_ROOT

# The oldest Kubernetes minor the deployment supports: raise it with the clusters.
KUBERNETES_VERSION = "1.34.0"
MANIFESTS = sorted((PROJECT_ROOT / "deploy" / "k8s").glob("*.yaml"))
VALUES = yaml.safe_load((PROJECT_ROOT / "deploy" / "helm" / "values.yaml").read_text())


def documents(path: Path) -> list[dict[str, Any]]:
    return [document for document in yaml.safe_load_all(path.read_text()) if document]


@pytest.mark.parametrize("manifest", MANIFESTS, ids=[path.name for path in MANIFESTS])
def test_manifest_is_valid_kubernetes(manifest: Path) -> None:
    for document in documents(manifest):
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_a_misspelt_field_is_refused() -> None:
    """What the test above catches: a typo in a container's fields."""
    job = documents(PROJECT_ROOT / "deploy" / "k8s" / "migrate-job.yaml")[0]
    container = job["spec"]["template"]["spec"]["containers"][0]
    container["envfrom"] = container.pop("envFrom")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(job, KUBERNETES_VERSION, strict=True)


def test_the_migrate_job_runs_the_release_image_with_its_secrets_as_non_root() -> None:
    job = documents(PROJECT_ROOT / "deploy" / "k8s" / "migrate-job.yaml")[0]
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    deployment = VALUES["dagster-user-deployments"]["deployments"][0]
    assert container["image"].rsplit(":", 1)[0] == deployment["image"]["repository"]
    assert "command" not in container  # the image's entrypoint runs the arguments
    script = container["args"][-1]
    assert script.startswith("/opt/pipelines/")
    assert (PROJECT_ROOT / script.removeprefix("/opt/pipelines/")).is_file()
    secrets = {source["secretRef"]["name"] for source in container["envFrom"]}
    assert {secret["name"] for secret in deployment["envSecrets"]} < secrets
    assert pod["securityContext"]["runAsNonRoot"] and pod["securityContext"]["runAsUser"] != 0
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
