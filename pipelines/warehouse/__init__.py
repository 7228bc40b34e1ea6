"""The Postgres warehouse: embedded server, migrations, and the COPY-and-merge load path."""
