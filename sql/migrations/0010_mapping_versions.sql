-- depends: 0009_vendor_meaning
-- Which version of its mapping rules each source's rows in core were made with. When a
-- source's rules change (its MAPPING_VERSION), the stored raw records are re-mapped with the
-- new rules (the `warehouse_remap` job, which `make run` runs first), not reloaded from the
-- vendor. No row: the rules before versions were kept (version 1).
CREATE TABLE ops.mapping_versions (
    source      text        PRIMARY KEY,
    version     integer     NOT NULL,
    run_id      text,
    remapped_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE ops.mapping_versions IS
    'Per source: the mapping rules (version) its rows in core.message_events were made with';
GRANT SELECT, INSERT, UPDATE, DELETE ON ops.mapping_versions TO warehouse_loader;
