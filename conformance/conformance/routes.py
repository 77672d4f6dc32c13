"""The API's route table as a client sees it: each path template and its Allow value."""

# Canonical method order from spec/README.md; HEAD follows GET and OPTIONS is always served.
ALLOW: dict[str, str] = {
    "/users": "POST, OPTIONS",
    "/users/me": "GET, HEAD, DELETE, OPTIONS",
    "/tokens": "POST, OPTIONS",
    "/tokens/current": "DELETE, OPTIONS",
    "/projects": "GET, HEAD, POST, OPTIONS",
    "/projects/{id}": "GET, HEAD, PATCH, DELETE, OPTIONS",
    "/projects/{id}/tasks": "GET, HEAD, POST, OPTIONS",
    "/tasks/{id}": "GET, HEAD, PUT, PATCH, DELETE, OPTIONS",
    "/healthz": "GET, HEAD, OPTIONS",
    "/readyz": "GET, HEAD, OPTIONS",
    "/openapi.yaml": "GET, HEAD, OPTIONS",
    "/events": "GET, HEAD, OPTIONS",
    "/": "GET, HEAD, OPTIONS",
    "/docs": "GET, HEAD, OPTIONS",
    "/static/app.js": "GET, HEAD, OPTIONS",
}

ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def concrete(template: str, ident: int = 1) -> str:
    """The template with its id segment filled in."""
    return template.replace("{id}", str(ident))


def unserved(template: str) -> list[str]:
    """Methods the path does not serve (each must be 405)."""
    allowed = {method.strip() for method in ALLOW[template].split(",")}
    return [method for method in ALL_METHODS if method not in allowed]
