"""The contract layer's per-operation coverage: counted from the recorded calls, failing the row at zero."""

from __future__ import annotations

import json
from pathlib import Path

from conformance.junit import Tally

from conformance import coverage


def test_every_enabled_operation_is_counted() -> None:
    """Every operation of the spec but the ones schemathesis.toml disables (streamEvents) is judged."""
    operations = coverage.tested_operations()
    assert "streamEvents" not in operations.values()
    assert operations["GET /tasks/{task_id}"] == "getTask"
    assert len(operations) >= 20


def test_an_operation_without_2xx_fails_the_row(tmp_path: Path) -> None:
    """Calls are counted per operation; one never answered 2xx (or never called) is a failure each."""
    calls = tmp_path / "calls.jsonl"
    lines = [
        {"operation": "GET /tasks/{task_id}", "status": 200},
        {"operation": "GET /tasks/{task_id}", "status": 404},
        {"operation": "DELETE /tasks/{task_id}", "status": 404},
    ]
    calls.write_text("".join(json.dumps(line) + "\n" for line in lines) + '{"operation": "cut sh')
    reach = {entry.operation_id: entry for entry in coverage.measure(calls)}
    assert (reach["getTask"].success, reach["getTask"].calls) == (1, 2)
    assert (reach["deleteTask"].success, reach["deleteTask"].calls) == (0, 1)
    row = Tally(passed=23)
    coverage.judge(list(reach.values()), row)
    assert "deleteTask never reached a 2xx (1 cases)" in row.failures
    assert not any(failure.startswith("getTask") for failure in row.failures)
    assert row.failed == sum(1 for entry in reach.values() if entry.success == 0)
    coverage.write(list(reach.values()), tmp_path)
    assert json.loads((tmp_path / coverage.COVERAGE_JSON).read_text())[0]["operation"] == "createUser"
