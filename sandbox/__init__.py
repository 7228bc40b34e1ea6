"""A local HTTP server that plays the four vendor APIs, with generated data and their quirks.

Used by `make run`, `make ui` and the tests whenever a source has no real credentials."""
