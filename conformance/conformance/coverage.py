"""The contract layer's coverage: per operation, how many generated cases reached a 2xx, of how many."""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path

import yaml

from conformance.junit import Tally
from conformance.paths import SCHEMATHESIS_CONFIG, SPEC_DIR

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
# The environment variable naming the file where conformance/hooks.py records each generated call's
# operation and status, one JSON line each; unset when schemathesis runs by hand: nothing is recorded.
CALLS_FILE = "CONFORMANCE_CONTRACT_CALLS"
COVERAGE_JSON = "contract-coverage.json"
COVERAGE_MD = "contract-coverage.md"


@dataclass
class Reach:
    """One operation's calls: how many in all, how many answered 2xx."""

    operation_id: str
    label: str  # "GET /projects/{project_id}", as schemathesis names it
    calls: int = 0
    success: int = 0


def tested_operations() -> dict[str, str]:
    """Label to operationId of every operation the contract layer tests (the spec's, minus disabled)."""
    spec = yaml.safe_load((SPEC_DIR / "openapi.yaml").read_text())
    config = tomllib.loads(SCHEMATHESIS_CONFIG.read_text())
    disabled = set()
    for block in config.get("operations", []):
        if block.get("enabled", True) is False:
            ids = block.get("include-operation-id", [])
            disabled |= {ids} if isinstance(ids, str) else set(ids)
    found = {}
    for path, item in spec.get("paths", {}).items():
        for method in METHODS:
            operation = item.get(method)
            if operation and operation.get("operationId") not in disabled:
                found[f"{method.upper()} {path}"] = operation["operationId"]
    return found


def measure(calls_file: Path) -> list[Reach]:
    """Per tested operation (the spec's order), its calls and 2xx answers as recorded in `calls_file`."""
    reach = {label: Reach(operation_id, label) for label, operation_id in tested_operations().items()}
    lines = calls_file.read_text().splitlines() if calls_file.exists() else []
    for line in lines:
        try:
            call = json.loads(line)
        except ValueError:
            continue  # a line cut short by a killed run
        entry = reach.get(call.get("operation", ""))
        if entry is not None:
            entry.calls += 1
            entry.success += 200 <= int(call.get("status", 0)) < 300
    return list(reach.values())


def judge(reach: list[Reach], row: Tally) -> None:
    """An operation that never reached a 2xx is not contract-tested: one failure each in the row."""
    for entry in reach:
        if entry.success == 0:
            row.failed += 1
            row.failures.append(f"{entry.operation_id} never reached a 2xx ({entry.calls} cases)")


def summary(reach: list[Reach]) -> str:
    """One line: `operationId 2xx/all` for every operation."""
    return ", ".join(f"{entry.operation_id} {entry.success}/{entry.calls}" for entry in reach)


def write(reach: list[Reach], report_dir: Path) -> None:
    """contract-coverage.json and .md into the column's report directory."""
    rows = [
        {
            "operation": entry.operation_id,
            "label": entry.label,
            "success": entry.success,
            "calls": entry.calls,
        }
        for entry in reach
    ]
    (report_dir / COVERAGE_JSON).write_text(json.dumps(rows, indent=2) + "\n")
    lines = ["# Contract coverage", "", "| operation | request | 2xx | cases |", "|---|---|---|---|"]
    lines += [f"| {r['operation']} | `{r['label']}` | {r['success']} | {r['calls']} |" for r in rows]
    (report_dir / COVERAGE_MD).write_text("\n".join(lines) + "\n")
