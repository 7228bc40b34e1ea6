"""One package per vendor: its client resource, its mapping to the shared model, its assets,
and in its `__init__` the `DEFINITION` that declares it. Adding a vendor is adding a folder."""

import importlib
import pkgutil
from functools import cache

from pipelines.orchestration.source import SourceDefinition


@cache
def registry() -> tuple[SourceDefinition, ...]:
    """Every source package's definition, in name order."""
    packages = sorted(module.name for module in pkgutil.iter_modules(__path__) if module.ispkg)
    return tuple(importlib.import_module(f"{__name__}.{name}").DEFINITION for name in packages)
