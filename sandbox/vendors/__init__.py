"""One module per fake vendor API."""
