"""From runs to cells: drop disturbed runs, take medians and ranges, fail cells with errors, add ratios."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from tasks_bench.measure import Run
from tasks_bench.plan import Cell


@dataclass
class Summary:
    """One cell's result over its kept runs."""

    key: str
    variant: str
    group: str
    server: str
    scenario: str
    connections: int
    runs: int
    kept: int
    failed: bool
    all_disturbed: bool  # every run was disturbed: the medians are over all runs, and flagged
    rps: float = 0.0
    rps_min: float = 0.0
    rps_max: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    cpu_us_per_request: float | None = None
    pss_mib_per_worker: float | None = None
    others_cores: float = 0.0
    errors: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    vs_hello: float | None = None
    vs_nginx: float | None = None
    notes: list[str] = field(default_factory=list)


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def summarize(cell: Cell, runs: list[Run], threshold: float) -> Summary:
    """Median and range over the undisturbed runs (all runs, flagged, when none is undisturbed)."""
    errors = sum(run.errors for run in runs)
    kept = [run for run in runs if run.others_cores <= threshold] or runs
    statuses: dict[str, int] = {}
    for run in runs:
        for status, n in run.statuses.items():
            statuses[status] = statuses.get(status, 0) + n
    summary = Summary(
        key=cell.key,
        variant=cell.variant.name,
        group=cell.variant.group,
        server=cell.variant.server,
        scenario=cell.scenario.name,
        connections=cell.connections,
        runs=len(runs),
        kept=len([run for run in runs if run.others_cores <= threshold]),
        failed=errors > 0 or not runs,
        all_disturbed=bool(runs) and all(r.others_cores > threshold for r in runs),
        errors=errors,
        statuses=statuses,
        notes=sorted({run.note for run in runs if run.note}),
    )
    if kept:
        rps = [run.rps for run in kept]
        summary.rps, summary.rps_min, summary.rps_max = statistics.median(rps), min(rps), max(rps)
        summary.p50_ms = statistics.median(run.p50_ms for run in kept)
        summary.p99_ms = statistics.median(run.p99_ms for run in kept)
        summary.cpu_us_per_request = _median([run.server_cpu_us_per_request for run in kept])
        pss = _median([run.pss_kib_per_worker for run in kept])
        summary.pss_mib_per_worker = pss / 1024 if pss is not None else None
        summary.others_cores = statistics.median(run.others_cores for run in kept)
    return summary


def add_ratios(summaries: list[Summary]) -> None:
    """Each port cell's requests/s as a share of its server's bare hello and of nginx, same connections."""
    hello = {(s.server, s.connections): s for s in summaries if s.variant.startswith("hello:")}
    nginx = {s.connections: s for s in summaries if s.variant == "nginx"}
    for s in summaries:
        if s.group not in {"port", "ceiling"} or s.failed:
            continue
        own = hello.get((s.server, s.connections))
        if own and not own.failed and own.rps and s.group == "port":
            s.vs_hello = s.rps / own.rps
        top = nginx.get(s.connections)
        if top and not top.failed and top.rps:
            s.vs_nginx = s.rps / top.rps
