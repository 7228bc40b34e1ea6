"""What a source declares about itself, once: its name, its client resource and the environment
variables that configure it (defaults are the resource's own field defaults, stated nowhere
else), its load asset, its raw table, and when it loads. The code location, the local stack,
the marts, the bench and the test fixtures iterate the registry (`pipelines.sources.registry`),
so a new vendor is a new folder under `pipelines/sources/` and no shared file changes."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from dagster import (
    AssetKey,
    AssetsDefinition,
    ConfigurableResource,
    EnvVar,
    PartitionsDefinition,
    RunConfig,
    ScheduleDefinition,
)
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from pipelines.orchestration.partitions import DAILY_PARTITIONS
from pipelines.orchestration.schedules import each_partition, every, lookback, todays_partition
from pipelines.orchestration.settings import ModelSettings
from pipelines.warehouse.loading import Mapper


class Role(Enum):
    CREDENTIAL = "credential"  # set: the source talks to its vendor; none set: the sandbox
    REQUIRED = "required"      # needed with the credentials, no default
    OPTIONAL = "optional"      # the resource field's default applies when unset


@dataclass(frozen=True)
class Setting:
    """One environment variable of a source and the resource field it binds."""

    env: str
    field: str
    role: Role = Role.OPTIONAL


# A source's mapper, from its client resource (zones) and the model settings (phone region).
MapperFactory = Callable[[Any, ModelSettings], Mapper]


@dataclass(frozen=True)
class SupportingAsset:
    """An asset a source keeps for its own load (Webex: the keys it follows), with its own job
    and schedule; `make run` materializes it before the load."""

    asset: AssetsDefinition
    job_name: str
    job_description: str
    cron: str

    @property
    def schedule(self) -> ScheduleDefinition:
        return every(self.job_name, self.cron)


@dataclass(frozen=True)
class Action:
    """An asset that acts on the vendor with what the warehouse holds (Webex: an activation),
    with its job and its schedule (off by default: nothing acts on a real vendor by itself).
    `make run` runs it, with `run_config`, only when the vendor is the local sandbox."""

    asset: AssetsDefinition
    job_name: str
    job_description: str
    schedule: ScheduleDefinition
    run_config: RunConfig


@dataclass(frozen=True)
class SourceDefinition:
    """A vendor source as the rest of the product sees it (see the module's docstring)."""

    name: str
    resource: type[ConfigurableResource[Any]]
    settings: tuple[Setting, ...]
    load: AssetsDefinition
    raw_table: str
    # Its job: its load, by day, by shard or whole (the code location makes it, by name).
    job_name: str
    job_description: str
    partitions_def: PartitionsDefinition | None
    schedules: tuple[ScheduleDefinition, ...] = field(default=())
    supporting: tuple[SupportingAsset, ...] = ()
    actions: tuple[Action, ...] = ()
    # Payload keys (and attribute keys of its events) that hold message content or links to
    # it: what the retention job removes once it is old enough.
    content_fields: tuple[str, ...] = ()
    # Its mapping rules, for re-mapping stored raw records when they change (pipelines/
    # warehouse/remap.py): the mapper built from its client and the model settings, the rules'
    # version (raised with every change to what a record maps to), and whether records are
    # keyed by their content (no vendor id).
    mapper_for: MapperFactory = field(kw_only=True)
    mapping_version: int = 1
    content_keyed: bool = False

    @property
    def events_key(self) -> AssetKey:
        return AssetKey([self.name, "message_events"])

    def __post_init__(self) -> None:
        # Every source says where its data comes from, so sandbox rows are marked whatever
        # folder declares the source (see VendorResource.data_origin).
        origin = Setting(self.origin_variable, "data_origin")
        if origin not in self.settings:
            object.__setattr__(self, "settings", (*self.settings, origin))
        # And how hard it may be asked: every vendor's budget and concurrency are settings.
        prefix = self.name.upper()
        declared = {setting.field for setting in self.settings}
        politeness = tuple(Setting(f"{prefix}_{field.upper()}", field)
                           for field in ("max_concurrency", "max_requests_per_second")
                           if field not in declared and field in self.resource.model_fields)
        object.__setattr__(self, "settings", (*self.settings, *politeness))

    @property
    def origin_variable(self) -> str:
        """The variable that marks the source's rows as the sandbox's (`sandbox`) or not."""
        return f"{self.name.upper()}_DATA_ORIGIN"

    def variables(self, role: Role) -> tuple[str, ...]:
        return tuple(setting.env for setting in self.settings if setting.role is role)

    def _field(self, setting: Setting) -> FieldInfo:
        """The resource field a setting binds, by name or by alias."""
        fields = self.resource.model_fields
        return fields.get(setting.field) or next(
            info for info in fields.values() if info.alias == setting.field)

    def defaults(self) -> dict[str, str]:
        """The optional variables' defaults, read from the resource's fields."""
        return {setting.env: str(default) for setting in self.settings
                if setting.role is Role.OPTIONAL
                and (default := self._field(setting).default) not in (None, PydanticUndefined)}

    def bound_resource(self) -> ConfigurableResource[Any]:
        """The client resource with every setting bound to its variable, read at run time."""
        values: dict[str, Any] = {
            setting.field: EnvVar.int(setting.env) if self._field(setting).annotation is int
            else EnvVar(setting.env)
            for setting in self.settings}
        return self.resource(**values)


def daily_source(*, name: str, resource: type[ConfigurableResource[Any]], settings: Sequence[Setting],
                 load: AssetsDefinition, raw_table: str, job_description: str, today_cron: str,
                 lookback_days: int, lookback_cron: str,
                 mapper_for: MapperFactory, content_fields: Sequence[str] = (),
                 mapping_version: int = 1, content_keyed: bool = False) -> SourceDefinition:
    """A day-partitioned source: one job over its group, today's partition on `today_cron`, and
    the last `lookback_days` days (whose statuses still change) as one run on `lookback_cron`."""
    job_name = f"{name}_daily"
    return SourceDefinition(name=name, resource=resource, settings=tuple(settings), load=load,
                            raw_table=raw_table, job_name=job_name, job_description=job_description,
                            partitions_def=DAILY_PARTITIONS,
                            schedules=(todays_partition(job_name, today_cron),
                                       lookback(job_name, lookback_days, lookback_cron)),
                            content_fields=tuple(content_fields), mapper_for=mapper_for,
                            mapping_version=mapping_version, content_keyed=content_keyed)


def incremental_source(*, name: str, resource: type[ConfigurableResource[Any]],
                       settings: Sequence[Setting], load: AssetsDefinition, raw_table: str,
                       job_description: str, cron: str, content_fields: Sequence[str] = (),
                       mapper_for: MapperFactory, supporting: Sequence[SupportingAsset] = (),
                       actions: Sequence[Action] = (), mapping_version: int = 1,
                       content_keyed: bool = False) -> SourceDefinition:
    """A source pulled from its own watermarks, on `cron`: as one run, or when its load is
    partitioned (into shards of its keys), as one run per partition at each tick."""
    job_name = f"{name}_incremental"
    partitions = load.partitions_def
    schedule = each_partition(job_name, cron, partitions) if partitions else every(job_name, cron)
    return SourceDefinition(name=name, resource=resource, settings=tuple(settings), load=load,
                            raw_table=raw_table, job_name=job_name, job_description=job_description,
                            partitions_def=partitions,
                            schedules=(schedule, *(support.schedule for support in supporting),
                                       *(action.schedule for action in actions)),
                            content_fields=tuple(content_fields), supporting=tuple(supporting),
                            actions=tuple(actions),
                            mapper_for=mapper_for, mapping_version=mapping_version,
                            content_keyed=content_keyed)
