-- The four layers of the warehouse: vendor payloads as received, the shared model,
-- load state and quarantine, and the views analysts and dashboards read.
CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS core;
CREATE SCHEMA IF NOT EXISTS ops;
CREATE SCHEMA IF NOT EXISTS marts;
