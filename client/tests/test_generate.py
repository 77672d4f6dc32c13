"""The generator's output is read right: every warning block, every dropped schema, any other line."""

from pathlib import Path

from client_check.generate import any_typed_fields, parse_output

# Abridged from openapi-python-client 0.29.1 on the spec before `const` became `enum` (client/README.md).
BEFORE = """Generating /work/main/client/build/tasks_api_client
Warning(s) encountered while generating. Client was generated, but some pieces may be missing

WARNING parsing POST /users within users.

Cannot parse response for status code <UntrustedString object at 0x7f> (Could not find reference in \
parsed models or enums), response will be omitted from generated client

{
  "$ref": "#/components/schemas/MalformedRequestProblem"
}


Unable to process schema /components/schemas/MalformedRequestProblem:

int can't be merged with Literal[400]

Failure to process schema has resulted in the removal of:
/components/schemas/MalformedRequestProblem
/components/schemas/Other


\x1b[34mIf you believe this was a mistake, please open an issue\x1b[0m
"""


def test_warnings_and_dropped_schemas_are_counted():
    warnings, dropped, unexpected = parse_output(BEFORE)
    assert warnings == [
        "WARNING parsing POST /users within users.",
        "Unable to process schema /components/schemas/MalformedRequestProblem:",
    ]
    assert dropped == ["/components/schemas/MalformedRequestProblem", "/components/schemas/Other"]
    assert unexpected == []


def test_a_clean_run_says_only_generating():
    assert parse_output("Generating /tmp/out\n\n") == ([], [], [])


def test_output_without_a_known_block_is_unexpected():
    assert parse_output("Generating /tmp/out\nSomething new happened\n")[2] == ["Something new happened"]


def test_model_attributes_typed_any_are_found(tmp_path: Path):
    models = tmp_path / "models"
    models.mkdir()
    (models / "problem.py").write_text(
        "class Problem:\n"
        "    title: str\n"
        "    errors: list[Any] | Unset = UNSET\n"
        "    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)\n"
        "        errors: list[Any] | Unset = UNSET\n",
        encoding="utf-8",
    )
    assert any_typed_fields(tmp_path) == ["problem.errors: list[Any] | Unset"]
