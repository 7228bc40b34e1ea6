"""Dagster around the load path: the day-partitioned asset factory, checks, partitions,
schedules, marts, the source registry, dead-run handling and Dagster's own storage."""
