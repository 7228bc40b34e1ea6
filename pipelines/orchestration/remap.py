"""The `warehouse_remap` job: when a source's mapping rules change (its MAPPING_VERSION), its
stored raw records are re-mapped with the new rules, as a migration, instead of reloading
from the vendor (pipelines/warehouse/remap.py). `make run` runs it first, after the SQL
migrations; a deployment runs it once after `make migrate`. A source already on its current
rules is skipped at the cost of one query.

Each source's step runs in the source's pool, so it never overlaps the source's loads, and
with the source's own configuration (zones, phone region): the configuration its rows were
loaded with."""

from collections.abc import Iterator, Sequence
from typing import Any

from dagster import JobDefinition, OpDefinition, OpExecutionContext, Output, job, op

from pipelines.orchestration.source import SourceDefinition
from pipelines.warehouse.loading import LoadTarget
from pipelines.warehouse.remap import mapping_version, remap_source
from pipelines.warehouse.resource import Warehouse

JOB_NAME = "warehouse_remap"


def _remap_op(source: SourceDefinition) -> OpDefinition:
    mapper_for = source.mapper_for
    target = LoadTarget(source.name, source.raw_table, content_keyed=source.content_keyed)

    @op(name=f"remap_{source.name}", pool=source.name,
        required_resource_keys={source.name, "warehouse", "model_settings"},
        description=f"Re-map the stored {source.name} raw records if their mapping rules changed.")
    def remap(context: OpExecutionContext) -> Iterator[Output[Any]]:
        warehouse: Warehouse = context.resources.warehouse
        client = getattr(context.resources, source.name)
        with warehouse.connect() as conn, warehouse.connect() as reader:
            stored = mapping_version(conn, source.name)
            if stored >= source.mapping_version:
                context.log.info(f"{source.name}: rows already follow mapping rules v{stored}")
                yield Output(None, metadata={"version": stored, "remapped": False})
                return
            context.log.info(f"{source.name}: re-mapping stored records from rules "
                             f"v{stored} to v{source.mapping_version}")
            stats = remap_source(conn, reader, target,
                                 mapper_for(client, context.resources.model_settings),
                                 stamp=warehouse.stamp(sandbox=client.sandbox),
                                 version=source.mapping_version, run_id=context.run_id)
        context.log.info(f"{source.name}: {stats.records} records in {stats.partitions} partitions "
                         f"re-mapped; {stats.updated} rows changed, {stats.replaced} replaced, "
                         f"{stats.quarantined} quarantined")
        yield Output(None, metadata={"from_version": stored, "remapped": True} | stats.as_metadata())

    return remap


def remap_job(sources: Sequence[SourceDefinition]) -> JobDefinition:
    """One step per source, side by side (each in its own pool)."""
    steps = [_remap_op(source) for source in sources]

    @job(name=JOB_NAME, description="Re-map stored raw records with each source's current "
                                    "mapping rules, where they changed (a migration, not a reload).")
    def warehouse_remap() -> None:
        for step in steps:
            step()

    return warehouse_remap
