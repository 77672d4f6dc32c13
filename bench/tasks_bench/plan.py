"""What a run measures: which cells (server x scenario x connections), how long, how many rounds."""

from __future__ import annotations

from dataclasses import dataclass

from tasks_bench.scenarios import HELLO, WAITS, Scenario
from tasks_bench.servers import Variant


@dataclass(frozen=True)
class Settings:
    """The knobs of one benchmark run."""

    mode: str  # "quick" or "full"
    rounds: int
    seconds: float  # one run of a port or ceiling cell (whole seconds: wrk's unit)
    exec_seconds: float  # one run of an execution-model cell (queues of a 50 ms wait need longer)
    connections: tuple[int, ...]  # for each port's first start command, and the ceilings
    other_start_connections: tuple[int, ...]  # for the other start commands (granian)
    all_starts: bool
    exec_connections: int = 64
    # The new parts are measured at the targets' concurrency only, to keep `make bench` within budget:
    # floors, every PostgreSQL cell and the gateway run at 64 connections.
    target_connections: int = 64
    postgres_scenarios: tuple[str, ...] = ("get_task", "list_page", "create_task")
    floor_scenarios: tuple[str, ...] = ("get_task", "get_task_304", "list_page", "create_task")
    postgres_rounds: int | None = None  # rounds of the PostgreSQL and gateway phases (None: `rounds`)


QUICK = Settings(
    "quick",
    rounds=3,
    seconds=1,
    exec_seconds=2,
    connections=(64,),
    other_start_connections=(64,),
    all_starts=False,
    postgres_scenarios=("get_task", "create_task"),  # CI: PostgreSQL minimally, read and write
    floor_scenarios=("get_task", "list_page", "create_task"),  # the targets' three (no 304) in CI
)
FULL = Settings(
    "full",
    rounds=5,
    seconds=2,
    exec_seconds=5,
    connections=(1, 64),  # 16 was dropped for the floors, PostgreSQL and the gateway (README, "Time")
    other_start_connections=(64,),
    all_starts=True,
    postgres_rounds=3,
)


@dataclass(frozen=True)
class Cell:
    """One thing measured: a server, a scenario, a number of connections, and how long each run lasts."""

    variant: Variant
    scenario: Scenario
    connections: int
    seconds: float

    @property
    def key(self) -> str:
        return f"{self.variant.name} {self.scenario.name} c{self.connections}"


def cells(
    settings: Settings, variants: list[Variant], port_scenarios: dict[str, list[Scenario]]
) -> list[Cell]:
    """Every cell of the run; each ceiling is measured at every concurrency a port on its server is."""
    planned: list[Cell] = []
    seen_ports: set[str] = set()
    used: dict[str, set[int]] = {}
    for variant in (v for v in variants if v.group == "port"):
        port = variant.name.split(":")[0]
        conns = settings.other_start_connections if port in seen_ports else settings.connections
        if variant.database == "postgres":
            conns = (settings.target_connections,)
        else:
            seen_ports.add(port)
        used.setdefault(variant.server, set()).update(conns)
        for scenario in port_scenarios.get(variant.name, []):
            planned += [Cell(variant, scenario, c, settings.seconds) for c in conns]
    every = sorted(set(settings.connections) | {c for conns in used.values() for c in conns})
    for variant in (v for v in variants if v.group == "ceiling"):
        conns = (
            every
            if variant.server == "nginx"
            else sorted(used.get(variant.server, {settings.exec_connections}))
        )
        planned += [Cell(variant, HELLO, c, settings.seconds) for c in conns]
    for variant in (v for v in variants if v.group in {"floor", "gateway"}):
        planned += [
            Cell(variant, scenario, settings.target_connections, settings.seconds)
            for scenario in port_scenarios.get(variant.name, [])
        ]
    for variant in (v for v in variants if v.group == "exec"):
        planned += [
            Cell(variant, scenario, settings.exec_connections, settings.exec_seconds)
            for scenario in WAITS[variant.name]
        ]
    return planned
