"""Messaging-campaign ETL: four vendor APIs into one Postgres warehouse, orchestrated by Dagster."""
