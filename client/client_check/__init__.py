"""Generate a typed Python client from spec/openapi.yaml and run a scenario with it against one port."""
