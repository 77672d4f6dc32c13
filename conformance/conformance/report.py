"""Render the matrix: a console table, reports/matrix.md and reports/matrix.json."""

from __future__ import annotations

import json
from pathlib import Path

from conformance import figures
from conformance.junit import Tally
from conformance.matrix import Column, row_names


def cell_text(tally: Tally | None) -> str:
    """`pass 12` all passed, `FAIL 2/12` some failed, `ERROR` could not run, `skip` not for this column,
    `-` not attempted."""
    if tally is None:
        return "-"
    if tally.broken:
        return "ERROR"
    if tally.failed:
        return f"FAIL {tally.failed}/{tally.total}"
    if tally.skipped and not tally.passed:
        return "skip"  # every case of the row skipped, for the column's configuration (e.g. SQLite)
    return f"pass {tally.passed}"


def coverage_text(column: Column) -> str:
    """`getProject 31/40, ...`: the contract layer's generated cases that reached a 2xx, of all."""
    return ", ".join(f"{name} {success}/{calls}" for name, (success, calls) in column.coverage.items())


def rows_of(columns: list[Column]) -> list[str]:
    """The matrix rows; the cross-port rows only when the mixed column is there."""
    return row_names(mixed=any(column.mixed for column in columns))


def table(columns: list[Column]) -> list[list[str]]:
    """Header row plus one row per matrix row."""
    rows = [["", *(column.name for column in columns)]]
    for name in rows_of(columns):
        rows.append([name, *(cell_text(column.cells.get(name)) for column in columns)])
    return rows


def console(columns: list[Column]) -> str:
    """A fixed-width table for the terminal."""
    rows = table(columns)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def markdown(columns: list[Column], database: str) -> str:
    """The table as GitHub markdown, with each column's notes below it."""
    rows = table(columns)
    lines = [f"# Conformance matrix ({database})", ""]
    lines.append("| " + " | ".join(rows[0]) + " |")
    lines.append("|" + "---|" * len(rows[0]))
    lines.extend("| " + " | ".join(row) + " |" for row in rows[1:])
    for column in columns:
        timing = ", ".join(f"{layer} {seconds:.0f} s" for layer, seconds in column.seconds.items())
        lines += ["", f"## {column.name}", "", f"Time: {timing or 'n/a'}."]
        if column.coverage:
            lines += [
                "",
                "Contract cases answered 2xx, of all, per operation: " + coverage_text(column) + ".",
            ]
        for row in row_names(column.mixed):
            tally = column.cells.get(row)
            if tally and tally.failures:
                lines.append(f"- **{row}**: " + "; ".join(tally.failures[:20]))
        lines.extend(f"- note: {note}" for note in column.notes)
        if column.figures:
            lines += ["", "Faults figures (faults.json):", ""]
            lines += [f"- {line}" for line in figures.summary(column.figures).splitlines()]
    return "\n".join(lines) + "\n"


def as_json(columns: list[Column], database: str) -> dict[str, object]:
    """Everything in the table, machine-readable."""
    return {
        "database": database,
        "rows": rows_of(columns),
        "columns": [
            {
                "name": column.name,
                "mixed": column.mixed,
                "ok": all(not tally.failed for tally in column.cells.values()),
                "seconds": {layer: round(seconds, 1) for layer, seconds in column.seconds.items()},
                "notes": column.notes,
                "faults": column.figures,
                "contract_coverage": {
                    name: {"success": success, "calls": calls}
                    for name, (success, calls) in column.coverage.items()
                },
                "cells": {
                    row: {
                        "passed": tally.passed,
                        "failed": tally.failed,
                        "skipped": tally.skipped,
                        "broken": tally.broken,
                        "failures": tally.failures,
                    }
                    for row, tally in column.cells.items()
                },
            }
            for column in columns
        ],
    }


def previous_columns(database: str, report_dir: Path) -> list[Column]:
    """The per-port columns of an earlier run on `database` in `report_dir`, to show the mixed one beside."""
    try:
        data = json.loads((report_dir / "matrix.json").read_text())
    except (OSError, ValueError):
        return []
    if data.get("database") != database:
        return []
    columns = []
    for entry in data.get("columns", []):
        if entry.get("mixed") or entry.get("name") == "mixed":
            continue  # this run brings the new one
        cells = {
            row: Tally(
                cell["passed"],
                cell["failed"],
                cell.get("skipped", 0),
                failures=cell["failures"],
                broken=cell["broken"],
            )
            for row, cell in entry.get("cells", {}).items()
        }
        column = Column(
            entry["name"],
            cells=cells,
            seconds=entry.get("seconds", {}),
            notes=entry.get("notes", []),
            figures=entry.get("faults", {}),
            coverage={
                name: [reach["success"], reach["calls"]]
                for name, reach in entry.get("contract_coverage", {}).items()
            },
        )
        columns.append(column)
    return columns


def write(columns: list[Column], database: str, report_dir: Path) -> None:
    """Write matrix.md and matrix.json into `report_dir`."""
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / "matrix.md").write_text(markdown(columns, database))
    (report_dir / "matrix.json").write_text(json.dumps(as_json(columns, database), indent=2) + "\n")
