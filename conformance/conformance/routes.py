"""The API's route table as a client sees it, read from the spec: each path template and its methods.

spec/README.md (Routing): `Allow` lists exactly the path's methods, each once, `HEAD` where there is
`GET`, and `OPTIONS`; the order is not significant (clients must not depend on it). The table comes
from openapi.yaml (conformance/spec.py), so a path or method added to the spec is tested at once.
"""

from __future__ import annotations

import re
from typing import Any

from conformance import spec

# The list syntax of Allow (RFC 9110 5.6.1 as the ports write it): tokens separated by ", ".
ALLOW_LIST = re.compile(r"^[A-Z]+(?:, [A-Z]+)*$")


def __getattr__(name: str) -> Any:
    """ALLOW ({template: canonical Allow value}) and ALL_METHODS, read from the spec when first imported."""
    # Read lazily, so that --spec-dir (tests/conftest.py) is in force before the spec is read.
    if name == "ALLOW":
        return {template: ", ".join(methods) for template, methods in spec.allowed_methods().items()}
    if name == "ALL_METHODS":
        return spec.method_order()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def methods(template: str) -> frozenset[str]:
    """The methods the spec gives the path."""
    return frozenset(spec.allowed_methods()[template])


def concrete(template: str, ident: int = 1) -> str:
    """The template with its id segment filled in."""
    return template.replace("{id}", str(ident))


def unserved(template: str) -> list[str]:
    """Methods the path does not serve (each must be 405)."""
    allowed = methods(template)
    return [method for method in spec.method_order() if method not in allowed]


def assert_allow(value: str | None, template: str) -> None:
    """An Allow (or Access-Control-Allow-Methods) value lists exactly the path's methods, each once.

    The order is not significant (spec/README.md, Routing); the list syntax is "A, B".
    """
    assert value is not None, f"no Allow for {template}"
    assert ALLOW_LIST.match(value), f"Allow {value!r} is not a list like 'GET, HEAD, OPTIONS'"
    listed = value.split(", ")
    assert len(listed) == len(set(listed)), f"Allow {value!r} names a method twice"
    expected = methods(template)
    assert set(listed) == expected, (
        f"Allow {value!r} for {template}: missing {sorted(expected - set(listed))}, "
        f"extra {sorted(set(listed) - expected)}"
    )
