"""Normalization settings shared by every source."""

from dagster import ConfigurableResource
from pydantic import Field


class ModelSettings(ConfigurableResource):  # type: ignore[type-arg]  # generic in its own type
    """How vendor values are read into the shared model."""

    phone_default_region: str = Field(
        default="US", description="ISO country used to read national-format numbers into E.164")
