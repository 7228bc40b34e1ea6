"""One package per vendor: its client resource, its mapping to the shared model, its assets."""
