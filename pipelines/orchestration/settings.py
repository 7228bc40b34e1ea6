"""Settings shared by every source (normalization) and by the marts (reporting)."""

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dagster import ConfigurableResource, EnvVar
from pydantic import Field, field_validator


class ModelSettings(ConfigurableResource):  # type: ignore[type-arg]  # generic in its own type
    """How vendor values are read into the shared model."""

    phone_default_region: str = Field(
        default="US", description="ISO country used to read national-format numbers into E.164")


class ReportingSettings(ConfigurableResource):  # type: ignore[type-arg]  # generic in its own type
    """How the marts present time: the zone whose calendar days and clock hours they count in,
    beside UTC (the volume marts carry both)."""

    timezone: str = Field(
        default="UTC", description=(
            "IANA zone of the marts' days and hours (PIPELINES_REPORTING_TIMEZONE); changing it "
            "rebuilds the marts in the new zone at their next refresh"))

    @field_validator("timezone", mode="before")
    @classmethod
    def _known_zone(cls, value: object) -> object:
        if isinstance(value, EnvVar) or not isinstance(value, str):
            return value  # an EnvVar is checked once resolved, at a run's start; a non-string fails as one
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"PIPELINES_REPORTING_TIMEZONE {value!r} is not an IANA time zone") from None
        return value
