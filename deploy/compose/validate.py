"""Validate docker-compose.yml against the Compose Specification's JSON schema (deploy/compose/README.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import jsonschema_rs
import yaml

HERE = Path(__file__).resolve().parent
SCHEMA = HERE / "compose-spec.json"
DEFAULT_FILE = HERE.parents[1] / "docker-compose.yml"


def problems(compose_file: Path) -> list[str]:
    """Every place where the file breaks the schema (empty when it is valid)."""
    document = yaml.safe_load(compose_file.read_text(encoding="utf-8"))
    validator = jsonschema_rs.Draft201909Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))
    return [f"{'/'.join(map(str, error.instance_path)) or '(root)'}: {error.message}"
            for error in validator.iter_errors(document)]  # fmt: skip


def main(argv: list[str]) -> int:
    """Validate the files named (default: the repository's docker-compose.yml); exit 1 on a problem."""
    files = [Path(arg) for arg in argv] or [DEFAULT_FILE]
    failed = False
    for path in files:
        found = problems(path)
        for line in found:
            print(f"{path}: {line}", file=sys.stderr)
        print(f"{path}: {'INVALID' if found else 'valid'} (Compose Specification schema)")
        failed |= bool(found)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
