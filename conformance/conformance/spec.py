"""The suite's expectations, read from the spec at run time: the problem types and each path's Allow.

The problem table (slug, status, title) is spec/README.md's "Problem details" table, checked against
the `type` enum of openapi.yaml's Problem schema; the methods of each path are openapi.yaml's
operations, plus HEAD where there is GET and OPTIONS everywhere, in spec/README.md's canonical order.
A change to the spec changes what the suite expects; a spec that contradicts itself fails loudly.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path
from typing import Any

import yaml

from conformance.paths import SPEC_DIR

# A row of the problem table in spec/README.md: | `slug` | status | title |
PROBLEM_ROW = re.compile(r"^\| `([a-z-]+)` \| (\d{3}) \| ([^|]+?) \|$")
# "Every `type` is `https://tasks-api.example/problems/<slug>`"
PROBLEM_BASE_LINE = re.compile(r"Every `type` is `(?P<base>[^`<]+)<slug>`")
# "the canonical order is `GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS`" (may wrap after "is")
METHOD_ORDER_LINE = re.compile(r"canonical order is\s+`(?P<methods>[A-Z]+(?:, [A-Z]+)*)`")
OPERATIONS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# A string path parameter has no value the suite can invent: the concrete value it uses, by name.
STRING_PARAMETER_VALUES = {"name": "app.js"}  # web/static/app.js, the live page's script


class SpecError(ValueError):
    """The spec cannot be read the way the suite needs, or contradicts itself."""


def spec_dir() -> Path:
    """The directory of the spec the suite checks against (CONFORMANCE_SPEC_DIR, else the repo's)."""
    return Path(os.environ.get("CONFORMANCE_SPEC_DIR") or SPEC_DIR)


@functools.cache
def _readme(directory: Path) -> str:
    return (directory / "README.md").read_text(encoding="utf-8")


@functools.cache
def _openapi(directory: Path) -> dict:
    return yaml.safe_load((directory / "openapi.yaml").read_text(encoding="utf-8"))


def problem_base(directory: Path | None = None) -> str:
    """The prefix of every problem `type` (spec/README.md, "Every `type` is ...<slug>")."""
    match = PROBLEM_BASE_LINE.search(_readme(directory or spec_dir()))
    if match is None:
        raise SpecError("spec/README.md: no line 'Every `type` is `<base><slug>`'")
    return match["base"]


def problems(directory: Path | None = None) -> dict[str, tuple[int, str]]:
    """(status, title) of every problem slug: spec/README.md's table, which must match openapi.yaml's enum."""
    return _problems(directory or spec_dir())


@functools.cache  # read once per spec: every assert_problem asks for it
def _problems(directory: Path) -> dict[str, tuple[int, str]]:
    lines = _readme(directory).splitlines()
    table = {m[1]: (int(m[2]), m[3]) for m in map(PROBLEM_ROW.match, lines) if m}
    if not table:
        raise SpecError("spec/README.md: the problem table (| `slug` | status | title |) was not found")
    base = problem_base(directory)
    try:
        enum = _openapi(directory)["components"]["schemas"]["Problem"]["properties"]["type"]["enum"]
    except (KeyError, TypeError) as exc:
        raise SpecError("openapi.yaml: components.schemas.Problem.properties.type.enum is missing") from exc
    listed = [uri.removeprefix(base) for uri in enum]
    if sorted(listed) != sorted(table) or any(not uri.startswith(base) for uri in enum):
        raise SpecError(
            "spec/README.md's problem table and openapi.yaml's Problem type enum disagree: "
            f"only in the README {sorted(set(table) - set(listed))}, only in openapi.yaml "
            f"{sorted(uri for uri in enum if uri.removeprefix(base) not in table)}"
        )
    return table


def method_order(directory: Path | None = None) -> list[str]:
    """Every method the API knows, in spec/README.md's canonical Allow order."""
    match = METHOD_ORDER_LINE.search(_readme(directory or spec_dir()))
    if match is None:
        raise SpecError("spec/README.md: no 'the canonical order is `GET, ...`' for Allow")
    return match["methods"].split(", ")


def _client_template(path: str, parameters: dict[str, str]) -> str:
    """The suite's form of an openapi.yaml path: integer ids as `{id}`, string parameters filled in."""
    for name, kind in parameters.items():
        if kind == "integer":
            path = path.replace(f"{{{name}}}", "{id}")
        elif name in STRING_PARAMETER_VALUES:
            path = path.replace(f"{{{name}}}", STRING_PARAMETER_VALUES[name])
        else:
            raise SpecError(
                f"openapi.yaml: path parameter {name!r} ({kind}) has no concrete value in "
                "conformance/spec.py STRING_PARAMETER_VALUES"
            )
    if path.count("{id}") > 1 or "{" in path.replace("{id}", ""):
        raise SpecError(f"openapi.yaml: {path!r} has a parameter the suite cannot fill")
    return path


def _resolve(document: dict, node: dict) -> dict:
    """A local `$ref` (#/components/...) followed to what it names."""
    while "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _path_parameters(document: dict, item: dict) -> dict[str, str]:
    """{name: schema type} of the path parameters declared on a path item or its operations."""
    declared = list(item.get("parameters", []))
    for method in OPERATIONS:
        declared += item.get(method, {}).get("parameters", [])
    found: dict[str, str] = {}
    for parameter in map(functools.partial(_resolve, document), declared):
        if parameter.get("in") == "path":
            schema = _resolve(document, parameter.get("schema", {}))
            found[parameter["name"]] = schema.get("type", "string")
    return found


def allowed_methods(directory: Path | None = None) -> dict[str, list[str]]:
    """Each path (the suite's template) and its methods: openapi.yaml's, + HEAD with GET, + OPTIONS."""
    return _allowed_methods(directory or spec_dir())


@functools.cache  # built once per spec: every Allow check asks for it
def _allowed_methods(directory: Path) -> dict[str, list[str]]:
    order = method_order(directory)
    document = _openapi(directory)
    table: dict[str, list[str]] = {}
    for path, item in document["paths"].items():
        methods = {method.upper() for method in OPERATIONS if method in item}
        if "GET" in methods:
            methods.add("HEAD")
        methods.add("OPTIONS")
        unknown = methods - set(order)
        if unknown:
            raise SpecError(f"openapi.yaml: {path} has {sorted(unknown)}, not in the README's Allow order")
        template = _client_template(path, _path_parameters(document, item))
        table[template] = [method for method in order if method in methods]
    return table
