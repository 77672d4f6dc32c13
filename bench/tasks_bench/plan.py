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


QUICK = Settings(
    "quick",
    rounds=3,
    seconds=1,
    exec_seconds=2,
    connections=(64,),
    other_start_connections=(64,),
    all_starts=False,
)
FULL = Settings(
    "full",
    rounds=5,
    seconds=2,
    exec_seconds=5,
    connections=(1, 16, 64),
    other_start_connections=(64,),
    all_starts=True,
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
    for variant in (v for v in variants if v.group == "exec"):
        planned += [
            Cell(variant, scenario, settings.exec_connections, settings.exec_seconds)
            for scenario in WAITS[variant.name]
        ]
    return planned
