"""Normalization settings shared by every source."""

from dagster import ConfigurableResource
from pydantic import Field

from pipelines.model.pseudonyms import pseudonym


class ModelSettings(ConfigurableResource):  # type: ignore[type-arg]  # generic in its own type
    """How vendor values are read into the shared model."""

    phone_default_region: str = Field(
        default="US", description="ISO country used to read national-format numbers into E.164")
    pii_key: str = Field(description=(
        "secret of the keyed pseudonyms that stand for phone numbers, emails and customer keys "
        "outside the warehouse (PIPELINES_PII_KEY)"))

    def pseudonym(self, value: str) -> str:
        """How a personal value may appear in logs, errors and Dagster metadata."""
        return pseudonym(value, self.pii_key)
