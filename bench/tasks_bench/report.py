"""The results as JSON (everything, every run) and as Markdown tables (medians, ranges, ratios, targets)."""

from __future__ import annotations

import json
from pathlib import Path

from tasks_bench import tables

WAIT_SECONDS = 0.05
# What a pool can do at best with a 50 ms wait: concurrent requests in flight / 50 ms.
EXEC_MODELS = {
    ("wait:sync", "wait"): ("gunicorn sync, 2 workers, `time.sleep`", "2 / 50 ms = 40"),
    ("wait:gthread", "wait"): ("gunicorn gthread, 2 workers x 8 threads, `time.sleep`", "16 / 50 ms = 320"),
    ("wait:uvicorn", "async"): (
        "uvicorn, `async def` + `await asyncio.sleep`",
        "64 connections / 50 ms = 1,280",
    ),
    ("wait:uvicorn", "blocking"): ("uvicorn, `async def` + `time.sleep` (the mistake)", "2 / 50 ms = 40"),
}
TARGET_CONNECTIONS = 64
GATEWAY_HEADING = ["## The gateway: four ports behind nginx on one PostgreSQL database, 64 connections", ""]


def write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n")


def _num(value: float | None, digits: int = 0) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _rps(cell: dict) -> str:
    if cell["failed"]:
        why = (
            f"{cell['errors']} errors" if cell["errors"] else ", ".join(cell.get("notes") or ["no response"])
        )
        return f"**failed** ({why})"
    mark = " ⚠" if cell["all_disturbed"] else ""
    return f"{cell['rps']:,.0f} ({cell['rps_min']:,.0f}–{cell['rps_max']:,.0f}){mark}"


def _ms(value: float) -> str:
    return f"{value:.1f}" if value < 10 else f"{value:.0f}"


def _port_tables(cells: list[dict]) -> list[str]:
    out = []
    for conns in sorted({c["connections"] for c in cells if c["group"] == "port"}, reverse=True):
        rows = [c for c in cells if c["group"] == "port" and c["connections"] == conns]
        out += [
            f"### Ports at {conns} connection{'s' if conns > 1 else ''}",
            "",
            "| port:server | scenario | req/s median (min–max) | p50 ms | p99 ms | server CPU µs/req "
            "| PSS MiB/worker | × own floor | × own hello | × nginx |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for c in sorted(rows, key=lambda c: (c["variant"], c["order"])):
            out.append(
                f"| {c['variant']} | {c['scenario']} | {_rps(c)} | {_ms(c['p50_ms'])} | {_ms(c['p99_ms'])} "
                f"| {_num(c['cpu_us_per_request'])} | {_num(c['pss_mib_per_worker'], 1)} "
                f"| {_pct(c.get('vs_floor'))} | {_pct(c['vs_hello'])} | {_pct(c['vs_nginx'])} |"
            )
        out.append("")
    return out


def _ceiling_table(cells: list[dict]) -> list[str]:
    out = [
        "| ceiling | server | connections | req/s median (min–max) | p50 ms | p99 ms | server CPU µs/req "
        "| PSS MiB/worker | × nginx |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c in sorted(
        (c for c in cells if c["group"] == "ceiling"), key=lambda c: (c["variant"], c["connections"])
    ):
        out.append(
            f"| {c['variant']} | {c['server']} | {c['connections']} | {_rps(c)} | {_ms(c['p50_ms'])} "
            f"| {_ms(c['p99_ms'])} | {_num(c['cpu_us_per_request'])} | {_num(c['pss_mib_per_worker'], 1)} "
            f"| {_pct(c['vs_nginx'])} |"
        )
    return [*out, ""]


def exec_table(cells: list[dict]) -> list[str]:
    """The execution-models table: a 50 ms wait under each model, against what the model allows."""
    out = [
        "| execution model | connections | req/s median (min–max) | best possible | p50 ms | p99 ms "
        "| server CPU µs/req |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for (variant, scenario), (label, best) in EXEC_MODELS.items():
        for c in (c for c in cells if c["variant"] == variant and c["scenario"] == scenario):
            out.append(
                f"| {label} | {c['connections']} | {_rps(c)} | {best} | {_ms(c['p50_ms'])} "
                f"| {_ms(c['p99_ms'])} | {_num(c['cpu_us_per_request'])} |"
            )
    return [*out, ""]


SHORT = {
    "healthz": "healthz",
    "get_task": "read",
    "get_task_304": "read 304",
    "list_page": "page",
    "create_task": "write",
}


def compact_table(cells: list[dict], connections: int = TARGET_CONNECTIONS) -> list[str]:
    """One row per port and server: req/s of each scenario with its share of the server's bare hello."""
    ports = [c for c in cells if c["group"] == "port" and c["connections"] == connections]
    scenarios = [s for s in SHORT if any(c["scenario"] == s for c in ports)]
    head = " | ".join(f"{SHORT[s]} req/s (× floor, × hello)" for s in scenarios)
    out = [
        f"| port:server | {head} | read p99 ms | read CPU µs/req | PSS MiB/worker |",
        "|---|" + "---:|" * (len(scenarios) + 3),
    ]
    for variant in sorted({c["variant"] for c in ports}):
        mine = {c["scenario"]: c for c in ports if c["variant"] == variant}
        values = []
        for s in scenarios:
            c = mine.get(s)
            if c is None:
                values.append("–")
            elif c["failed"]:
                values.append("**failed**")
            else:
                ratios = f"{_pct(c.get('vs_floor'))}, {_pct(c['vs_hello'])}"
                values.append(f"{c['rps']:,.0f} ({ratios}){' ⚠' if c['all_disturbed'] else ''}")
        read = mine.get("get_task")
        p99 = _ms(read["p99_ms"]) if read and not read["failed"] else "–"
        pss = _num(read["pss_mib_per_worker"], 1) if read else "–"
        cpu = _num(read["cpu_us_per_request"]) if read else "–"
        out.append(f"| {variant} | " + " | ".join(values) + f" | {p99} | {cpu} | {pss} |")
    return [*out, ""]


def markdown(data: dict) -> str:
    """The whole results page."""
    meta, dist, cells = data["meta"], data["disturbance"], data["cells"]
    pinning = "pinned: servers on CPU 0, wrk on CPU 1" if meta["pinned"] else "unpinned"
    lines = [
        f"# Benchmark results: {meta['mode']}, {meta['started']}",
        "",
        f"{meta['machine']}; {pinning}; {meta['rounds']} rounds of {meta['seconds']:g} s runs "
        f"({meta['exec_seconds']:g} s for the execution models; "
        f"{meta.get('postgres_rounds', meta['rounds'])} rounds in the PostgreSQL phases), "
        "interleaved in random order "
        f"(seed {meta['seed']}); "
        f"wrk {meta['wrk']}; {meta['database']}; {meta['elapsed_seconds']:.0f} s in all.",
        "",
        f"Disturbance: {dist['dropped']} of {dist['runs']} runs dropped because other processes used "
        f"more than {dist['threshold']:.2f} cores meanwhile "
        f"(median over all runs: {dist['median_others_cores']:.2f} cores); "
        f"{dist['cells_all_disturbed']} cells had no undisturbed run and show all their runs (marked ⚠). "
        "A cell with any error (socket error or a status other than the scenario's success) is **failed**, "
        "never averaged.",
        "",
        "## At a glance: 64 connections",
        "",
        *compact_table(cells),
        "## Targets at 64 connections",
        "",
        *tables.target_table(cells),
        "## SQLite and PostgreSQL side by side: 64 connections",
        "",
        *tables.side_by_side(cells),
        "## Floors: the same work with the driver directly, 64 connections",
        "",
        *tables.floor_table(cells),
        *(
            GATEWAY_HEADING + tables.gateway_table(cells)
            if any(c["group"] == "gateway" for c in cells)
            else []
        ),
        "## Ports",
        "",
        *_port_tables(cells),
        "## Ceilings",
        "",
        *_ceiling_table(cells),
        "## Execution models: a 50 ms wait at 64 connections",
        "",
        *exec_table(cells),
    ]
    if data.get("failures"):
        lines += ["## Not measured", "", *[f"- {f}" for f in data["failures"]], ""]
    return "\n".join(lines)
