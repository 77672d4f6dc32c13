"""The handlers, one module per tag of spec/openapi.yaml, each named after its operationId (snake_case)."""
