"""The faults layer's figures: one JSON file per experiment, merged into <column>/faults.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# Each experiment writes its own file (experiments run in parallel processes, so none shares a file);
# the matrix merges them after the layer.
FIGURES_DIR = "faults"
MERGED = "faults.json"


def record(report_dir: Path, experiment: str, figures: dict[str, Any]) -> None:
    """Write one experiment's figures (answered by status, lost, stuck, durations) as JSON."""
    directory = report_dir / FIGURES_DIR
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{experiment}.json").write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")


def merge(report_dir: Path) -> dict[str, Any]:
    """Every experiment's figures by name, also written to report_dir/faults.json; {} when none ran."""
    merged: dict[str, Any] = {}
    for path in sorted((report_dir / FIGURES_DIR).glob("*.json")):
        try:
            merged[path.stem] = json.loads(path.read_text())
        except (OSError, ValueError):
            merged[path.stem] = {"error": f"unreadable {path.name}"}
    if merged:
        (report_dir / MERGED).write_text(json.dumps(merged, indent=2, sort_keys=True) + "\n")
    return merged


def summary(figures: dict[str, Any]) -> str:
    """One line per experiment for matrix.md: answered by status, lost, stuck, seconds."""
    lines = []
    for name, data in figures.items():
        answered = data.get("answered", {})
        statuses = ", ".join(f"{status} x{count}" for status, count in sorted(answered.items()))
        parts = [f"answered {statuses or 'none'}"]
        parts += [f"{key} {data[key]}" for key in ("lost", "stuck", "dropped", "duplicates") if key in data]
        if "seconds" in data:
            parts.append(f"{data['seconds']} s")
        lines.append(f"{name}: " + "; ".join(parts))
    return "\n".join(lines)
