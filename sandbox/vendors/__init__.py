"""One module per fake vendor API. A module that plays a source of the pipeline names the
source's settings that point the pipeline at it (`pipeline_environment`)."""

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sandbox.config import SandboxConfig


def pipeline_environment(source: str, url: str, config: "SandboxConfig") -> dict[str, str] | None:
    """The variables that point `source` at the sandbox serving on `url`; None when the
    sandbox does not play that vendor."""
    try:
        module = importlib.import_module(f"{__name__}.{source}")
    except ModuleNotFoundError:
        return None
    return module.pipeline_environment(url, config)
