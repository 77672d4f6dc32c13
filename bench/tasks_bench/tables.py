"""The floor, database and gateway tables of the results page, and the issue's targets (never asserted)."""

from __future__ import annotations

import statistics

TARGET_CONNECTIONS = 64
FLOOR_TARGET = 0.5  # read, page and write: >= 50% of the same work in floor style
HELLO_TARGET, RAW_HELLO_TARGET = 0.4, 0.6  # the read against the own server's bare hello
P99_TARGET_MS = 50.0
DB_NAMES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
SIDE = {"get_task": "read", "list_page": "page", "create_task": "write"}


def pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _rps(c: dict | None) -> str:
    if c is None:
        return "–"
    if c["failed"]:
        return "**failed**"
    return f"{c['rps']:,.0f}{' ⚠' if c['all_disturbed'] else ''}"


def base(variant: str) -> str:
    """A port's name without its database suffix: `flask:gunicorn@pg` -> `flask:gunicorn`."""
    return variant.removesuffix("@pg")


def _at(cells: list[dict], group: str) -> list[dict]:
    return [c for c in cells if c["group"] == group and c["connections"] == TARGET_CONNECTIONS]


def side_by_side(cells: list[dict]) -> list[str]:
    """Each port's read, page and write on both databases: req/s (× own floor), CPU µs/req."""
    ports = _at(cells, "port")
    dbs = [d for d in DB_NAMES if any(c["database"] == d for c in ports)]
    head = " | ".join(f"{SIDE[s]} {DB_NAMES[d]} req/s (× floor)" for s in SIDE for d in dbs)
    cpu = " | ".join(f"read CPU µs/req {DB_NAMES[d]}" for d in dbs)
    out = [f"| port:server | {head} | {cpu} |", "|---|" + "---:|" * (len(SIDE) * len(dbs) + len(dbs))]
    found = {(base(c["variant"]), c["database"], c["scenario"]): c for c in ports}
    for variant in sorted({base(c["variant"]) for c in ports}):
        values = []
        for scenario in SIDE:
            for d in dbs:
                c = found.get((variant, d, scenario))
                values.append(f"{_rps(c)} ({pct(c['vs_floor'])})" if c and not c["failed"] else _rps(c))
        for d in dbs:
            c = found.get((variant, d, "get_task"))
            values.append(
                "–" if c is None or c["cpu_us_per_request"] is None else f"{c['cpu_us_per_request']:,.0f}"
            )
        out.append(f"| {variant} | " + " | ".join(values) + " |")
    return [*out, ""]


def floor_table(cells: list[dict]) -> list[str]:
    """Every floor cell: the limit each port is measured against."""
    out = [
        "| floor | server | database | scenario | req/s median (min–max) | p99 ms | server CPU µs/req "
        "| × own hello | × nginx |",
        "|---|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for c in sorted(_at(cells, "floor"), key=lambda c: (c["database"], base(c["variant"]), c["order"])):
        cpu = "–" if c["cpu_us_per_request"] is None else f"{c['cpu_us_per_request']:,.0f}"
        rps = _rps(c) if c["failed"] else f"{c['rps']:,.0f} ({c['rps_min']:,.0f}–{c['rps_max']:,.0f})"
        out.append(
            f"| {base(c['variant'])} | {c['server']} | {DB_NAMES.get(c['database'], '')} | {c['scenario']} "
            f"| {rps} | {c['p99_ms']:.1f} | {cpu} | {pct(c['vs_hello'])} | {pct(c['vs_nginx'])} |"
        )
    return [*out, ""]


def gateway_rows(cells: list[dict]) -> list[dict]:
    """Per scenario: the gateway's aggregate against the four ports alone (PostgreSQL, same run).

    `sum` is what four servers on four cores could add up to; `one_core` is what one core shared by the
    four can give when requests are spread evenly (the harmonic mean of their alone rates: each request
    costs its port's time), which is what this pinned run can reach at best.
    """
    rows = []
    alone = [c for c in _at(cells, "port") if c["database"] == "postgres" and not c["failed"]]
    for g in _at(cells, "gateway"):
        mine = [c for c in alone if c["scenario"] == g["scenario"] and c["rps"]]
        total = sum(c["rps"] for c in mine) or None
        one_core = statistics.harmonic_mean([c["rps"] for c in mine]) if mine else None
        cpus = [c["cpu_us_per_request"] for c in mine if c["cpu_us_per_request"]]
        rows.append(
            {
                "scenario": g["scenario"],
                "cell": g,
                "ports": len(mine),
                "sum": total,
                "one_core": one_core,
                "vs_sum": g["rps"] / total if total and not g["failed"] else None,
                "vs_one_core": g["rps"] / one_core if one_core and not g["failed"] else None,
                "ports_cpu": statistics.mean(cpus) if cpus else None,
            }
        )
    return rows


def gateway_table(cells: list[dict]) -> list[str]:
    out = [
        "| scenario | gateway req/s | p99 ms | CPU µs/req (4 ports + nginx) | ports alone: sum req/s "
        "| one-core expectation req/s | × sum | × one-core expectation | ports alone: mean CPU µs/req |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in gateway_rows(cells):
        g = r["cell"]
        num = lambda v: "–" if v is None else f"{v:,.0f}"  # noqa: E731 - a local formatter
        out.append(
            f"| {SIDE.get(r['scenario'], r['scenario'])} | {_rps(g)} | {g['p99_ms']:.0f} "
            f"| {num(g['cpu_us_per_request'])} | {num(r['sum'])} ({r['ports']} ports) | {num(r['one_core'])} "
            f"| {pct(r['vs_sum'])} | {pct(r['vs_one_core'])} | {num(r['ports_cpu'])} |"
        )
    return [*out, ""]


def targets(cells: list[dict]) -> list[dict]:
    """The issue's targets per port, server and database, at 64 connections."""
    rows = []
    ports = _at(cells, "port")
    for variant in sorted({c["variant"] for c in ports}, key=lambda v: (base(v), v)):
        mine = {c["scenario"]: c for c in ports if c["variant"] == variant}
        read = mine.get("get_task")
        hello_goal = RAW_HELLO_TARGET if variant.startswith("raw-wsgi") else HELLO_TARGET

        def meets(c: dict | None, key: str, goal: float) -> bool | None:
            return None if c is None or c[key] is None else c[key] >= goal

        rows.append(
            {
                "variant": variant,
                "read_floor": (read or {}).get("vs_floor"),
                "read_floor_ok": meets(read, "vs_floor", FLOOR_TARGET),
                "read_hello": (read or {}).get("vs_hello"),
                "hello_goal": hello_goal,
                "read_hello_ok": meets(read, "vs_hello", hello_goal),
                "page_floor": (mine.get("list_page") or {}).get("vs_floor"),
                "page_ok": meets(mine.get("list_page"), "vs_floor", FLOOR_TARGET),
                "write_floor": (mine.get("create_task") or {}).get("vs_floor"),
                "write_ok": meets(mine.get("create_task"), "vs_floor", FLOOR_TARGET),
                "read_p99": read["p99_ms"] if read and not read["failed"] else None,
                "errors": [s for s, c in mine.items() if c["failed"]],
            }
        )
    return rows


def _mark(ok: bool | None, value: float | None) -> str:
    return "–" if ok is None else f"{'yes' if ok else '**no**'} ({pct(value)})"


def target_table(cells: list[dict]) -> list[str]:
    out = [
        f"| port:server | read ≥ {FLOOR_TARGET:.0%} of floor | read ≥ {HELLO_TARGET:.0%} of hello "
        f"(raw ≥ {RAW_HELLO_TARGET:.0%}) | page ≥ {FLOOR_TARGET:.0%} of floor | write ≥ {FLOOR_TARGET:.0%} "
        f"of floor | read p99 < {P99_TARGET_MS:.0f} ms | zero errors |",
        "|---|---|---|---|---|---|---|",
    ]
    for t in targets(cells):
        p99 = "–" if t["read_p99"] is None else f"{'yes' if t['read_p99'] < P99_TARGET_MS else '**no**'} "
        p99 += "" if t["read_p99"] is None else f"({t['read_p99']:.0f} ms)"
        errors = "yes" if not t["errors"] else "**no**: " + ", ".join(t["errors"])
        out.append(
            f"| {t['variant']} | {_mark(t['read_floor_ok'], t['read_floor'])} "
            f"| {_mark(t['read_hello_ok'], t['read_hello'])} | {_mark(t['page_ok'], t['page_floor'])} "
            f"| {_mark(t['write_ok'], t['write_floor'])} | {p99} | {errors} |"
        )
    return [*out, "", *fastapi_vs_flask(cells), ""]


def fastapi_vs_flask(cells: list[dict]) -> list[str]:
    """The FastAPI port's read no slower than the Flask port's, per database."""
    out = []
    reads = [c for c in _at(cells, "port") if c["scenario"] == "get_task" and not c["failed"]]
    for database, name in DB_NAMES.items():
        fast = next(
            (c for c in reads if c["variant"].startswith("fastapi:") and c["database"] == database), None
        )
        flask = next(
            (c for c in reads if c["variant"].startswith("flask:") and c["database"] == database), None
        )
        if fast and flask:
            verdict = "yes" if fast["rps"] >= flask["rps"] else "**no**"
            out.append(
                f"- FastAPI read ≥ Flask read on {name}: {verdict} "
                f"({fast['rps']:,.0f} vs {flask['rps']:,.0f} req/s, "
                f"{fast['cpu_us_per_request'] or 0:,.0f} vs {flask['cpu_us_per_request'] or 0:,.0f} "
                "µs CPU/req)"
            )
    return out
