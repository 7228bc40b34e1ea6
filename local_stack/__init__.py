"""The local stack beside the code location: what `make run` and `make ui` start (the
embedded warehouse, the sandbox, Dagster's storage) before handing over to Dagster. Not part of
the production package."""
