"""The suite's expectations come from the spec (conformance/spec.py): a change to the spec changes them."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from conformance.paths import SPEC_DIR
from conformance.routes import assert_allow

from conformance import spec

PROBLEM_ROW = re.compile(r"^\| `([a-z-]+)` \| (\d{3}) \| ([^|]+?) \|$")


@pytest.fixture
def spec_copy(tmp_path: Path) -> Path:
    """A copy of the repository's spec/README.md and openapi.yaml to change."""
    for name in ("README.md", "openapi.yaml"):
        shutil.copy(SPEC_DIR / name, tmp_path / name)
    return tmp_path


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}: update this test"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _values(schema: dict) -> list:
    """The values a schema allows when it lists them: its `enum`, or its `const` as a list of one."""
    return list(schema["enum"]) if "enum" in schema else [schema["const"]] if "const" in schema else []


def test_the_problem_table_is_the_readme_table() -> None:
    lines = (SPEC_DIR / "README.md").read_text(encoding="utf-8").splitlines()
    rows = {m[1]: (int(m[2]), m[3]) for m in map(PROBLEM_ROW.match, lines) if m}
    assert len(rows) >= 17
    assert spec.problems(SPEC_DIR) == rows
    assert spec.problem_base(SPEC_DIR) == "https://tasks-api.example/problems/"


def test_openapi_problem_schemas_agree_with_the_table() -> None:
    """Each *Problem schema's type enum, status enum and example say what the README's table says.

    The spec writes a single value as `enum: [X]`, not `const: X` (the same under JSON Schema), because
    client generators drop a `const` inside `allOf` (client/README.md); `const` is still read here.
    """
    table = spec.problems(SPEC_DIR)
    base = spec.problem_base(SPEC_DIR)
    schemas = yaml.safe_load((SPEC_DIR / "openapi.yaml").read_text(encoding="utf-8"))["components"]["schemas"]
    checked = 0
    for name, schema in schemas.items():
        parts = schema.get("allOf", [])
        if {"$ref": "#/components/schemas/Problem"} not in parts:
            continue
        properties = {key: value for part in parts for key, value in part.get("properties", {}).items()}
        kind = properties.get("type", {})
        slugs = [uri.removeprefix(base) for uri in _values(kind)]
        statuses = _values(properties.get("status", {}))
        assert len(statuses) == 1, f"{name}: status is not one value: {statuses}"
        for slug in slugs:
            assert slug in table, f"{name}: {slug} is not in spec/README.md's table"
            assert table[slug][0] == statuses[0], f"{name}: {slug} status {statuses[0]}"
            checked += 1
        for example in schema.get("examples", []):
            slug = example["type"].removeprefix(base)
            assert (example["status"], example["title"]) == table[slug], f"{name}: example {example}"
    assert checked >= 10


def test_a_changed_title_changes_the_expectation(spec_copy: Path) -> None:
    _edit(
        spec_copy / "README.md", "| `not-found` | 404 | Not found |", "| `not-found` | 404 | No such thing |"
    )
    assert spec.problems(spec_copy)["not-found"] == (404, "No such thing")


def test_a_problem_only_in_the_readme_fails(spec_copy: Path) -> None:
    _edit(
        spec_copy / "README.md",
        "| `not-found` | 404 | Not found |",
        "| `not-found` | 404 | Not found |\n| `gone` | 410 | Gone |",
    )
    with pytest.raises(spec.SpecError, match="only in the README \\['gone'\\]"):
        spec.problems(spec_copy)


def test_a_problem_only_in_openapi_fails(spec_copy: Path) -> None:
    _edit(spec_copy / "README.md", "| `not-implemented` | 501 | Not implemented |\n", "")
    with pytest.raises(spec.SpecError, match="not-implemented"):
        spec.problems(spec_copy)


def test_the_allow_table_is_openapi_plus_head_and_options() -> None:
    table = spec.allowed_methods(SPEC_DIR)
    document = yaml.safe_load((SPEC_DIR / "openapi.yaml").read_text(encoding="utf-8"))
    assert len(table) == len(document["paths"])
    assert table["/tasks/{id}"] == ["GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"]
    assert table["/users"] == ["POST", "OPTIONS"]
    assert table["/static/app.js"] == ["GET", "HEAD", "OPTIONS"]
    assert spec.method_order(SPEC_DIR) == ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def test_a_method_added_to_the_spec_is_expected_in_allow(spec_copy: Path) -> None:
    _edit(
        spec_copy / "openapi.yaml",
        "  /tokens/current:\n    delete:",
        "  /tokens/current:\n    get:\n      operationId: readToken\n      responses: {}\n    delete:",
    )
    assert spec.allowed_methods(spec_copy)["/tokens/current"] == ["GET", "HEAD", "DELETE", "OPTIONS"]


def test_a_string_path_parameter_the_suite_cannot_fill_fails(spec_copy: Path) -> None:
    _edit(
        spec_copy / "openapi.yaml",
        "  /healthz:",
        "  /labels/{label}:\n    parameters:\n"
        "      - {name: label, in: path, required: true, schema: {type: string}}\n"
        "    get:\n      responses: {}\n  /healthz:",
    )
    with pytest.raises(spec.SpecError, match="'label'"):
        spec.allowed_methods(spec_copy)


@pytest.mark.parametrize(
    "value", ["GET, HEAD, PUT, PATCH, DELETE, OPTIONS", "OPTIONS, DELETE, PATCH, PUT, HEAD, GET"]
)
def test_allow_in_any_order_passes(value: str) -> None:
    assert_allow(value, "/tasks/{id}")


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("GET, HEAD, PUT, PATCH, DELETE, OPTIONS, GET", "twice"),
        ("GET, HEAD, PUT, PATCH, OPTIONS", "missing \\['DELETE'\\]"),
        ("GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS", "extra \\['POST'\\]"),
        ("GET,HEAD,PUT,PATCH,DELETE,OPTIONS", "not a list"),
        ("GET, HEAD, PUT, PATCH, DELETE, OPTIONS, ", "not a list"),
        (None, "no Allow"),
    ],
)
def test_a_wrong_allow_fails(value: str | None, why: str) -> None:
    with pytest.raises(AssertionError, match=why):
        assert_allow(value, "/tasks/{id}")
