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
    database: str = ""
    vs_hello: float | None = None
    vs_nginx: float | None = None
    vs_floor: float | None = None  # of the same scenario's floor on the same server family and database
    floor: str = ""  # which floor (the FastAPI family has two: the better one is the limit)
    notes: list[str] = field(default_factory=list)


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def summarize(cell: Cell, runs: list[Run], threshold: float) -> Summary:
    """Median and range over the undisturbed runs (all runs, flagged, when none is undisturbed)."""
    errors = sum(run.errors for run in runs)
    # A run in which no request completed (all slower than the run: a loaded machine, a 1 s run) has no
    # rate to take a median of: left out, and noted; a cell where every run is like that has failed.
    answered = [run for run in runs if run.requests]
    kept = [run for run in answered if run.others_cores <= threshold] or answered
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
        database=cell.variant.database,
        runs=len(runs),
        kept=len([run for run in runs if run.others_cores <= threshold]),
        failed=errors > 0 or not answered,
        all_disturbed=bool(runs) and all(r.others_cores > threshold for r in runs),
        errors=errors,
        statuses=statuses,
        notes=sorted(
            {run.note for run in runs if run.note}
            | ({"no response"} if any(not r.requests for r in runs) else set())
        ),
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
    """Each port cell's requests/s as a share of nginx, of its server's bare hello and of its floor.

    Same connections throughout; the floor is the same scenario on the same family and database (a 304
    against the floor's 304). Where a family has two floors (uvicorn: threadpool hop, async driver), the
    faster one in this run is the limit. Floors get the hello and nginx ratios too.
    """
    hello = {(s.server, s.connections): s for s in summaries if s.variant.startswith("hello:")}
    nginx = {s.connections: s for s in summaries if s.variant == "nginx"}
    floors: dict[tuple[str, str, str, int], Summary] = {}
    for s in summaries:
        if s.group == "floor" and not s.failed and s.rps:
            key = (s.server, s.database, s.scenario, s.connections)
            if key not in floors or s.rps > floors[key].rps:
                floors[key] = s
    for s in summaries:
        if s.group not in {"port", "ceiling", "floor"} or s.failed:
            continue
        own = hello.get((s.server, s.connections))
        if own and not own.failed and own.rps and s.group in {"port", "floor"}:
            s.vs_hello = s.rps / own.rps
        top = nginx.get(s.connections)
        if top and not top.failed and top.rps:
            s.vs_nginx = s.rps / top.rps
        floor = floors.get((s.server, s.database, s.scenario, s.connections))
        if floor and s.group == "port":
            s.vs_floor, s.floor = s.rps / floor.rps, floor.variant
