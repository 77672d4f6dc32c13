"""Every server of one `bench run`, on every database asked for: ports, ceilings, floors, the gateway."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import count
from pathlib import Path

from tasks_bench import floors
from tasks_bench.databases import Databases
from tasks_bench.gateway import GATEWAY_SCENARIOS, gateway_variant
from tasks_bench.plan import Settings
from tasks_bench.scenarios import Scenario, SeedError, seed
from tasks_bench.servers import Variant
from tasks_bench.variants import ceiling_variants, exec_variants, port_variants, server_argv

DATABASES = {"sqlite": ("sqlite",), "postgres": ("postgres",), "both": ("sqlite", "postgres")}
EXTRA_CEILINGS = {"gunicorn-sync", "granian-wsgi", "granian-asgi"}  # full runs only


@dataclass
class Assembly:
    """The variants to start, the databases behind them (to drop at the end), the floors' scenarios."""

    variants: list[Variant] = field(default_factory=list)
    databases: list[Databases] = field(default_factory=list)
    scenarios: dict[str, list[Scenario]] = field(default_factory=dict)

    def drop_databases(self) -> list[str]:
        """Drop every PostgreSQL database made for this run; the problems, if any."""
        return [problem for databases in self.databases for problem in databases.drop_all()]


@dataclass(frozen=True)
class Phase:
    """Servers that run at the same time. PostgreSQL's connections are few (max_connections 100, shared
    with whatever else runs), so its servers run in phases of their own, a server family at a time."""

    name: str
    database: str  # "sqlite" or "postgres"
    families: frozenset[str] | None = None  # ports and floors of these server families only
    ceilings: bool = False  # nginx, the hellos and the execution models
    gateway: bool = False  # the gateway stack alone


WSGI_FAMILIES = frozenset({"gunicorn-gthread", "gunicorn-sync", "granian-wsgi"})
ASGI_FAMILIES = frozenset({"gunicorn-uvicorn", "granian-asgi"})


def phases(database: str, with_gateway: bool) -> list[Phase]:
    """SQLite with the ceilings first, then PostgreSQL a family at a time, then the gateway."""
    found = []
    if database in {"sqlite", "both"}:
        found.append(Phase("sqlite", "sqlite", ceilings=True))
    if database in {"postgres", "both"}:
        found.append(Phase("postgres wsgi", "postgres", WSGI_FAMILIES, ceilings=database == "postgres"))
        found.append(Phase("postgres asgi", "postgres", ASGI_FAMILIES))
        if with_gateway:
            found.append(Phase("gateway", "postgres", gateway=True))
    return found


def assemble(
    settings: Settings,
    names: list[str] | None,
    phase: Phase,
    work: Path,
    numbers: count,
    nginx_workers: int,
    with_floors: bool,
    found: Assembly,
) -> Assembly:
    """Create the phase's databases (floors: schema and seed rows by SQL) and describe its servers.

    Fills `found` as it goes, so that the caller can drop what was created even when this fails halfway.
    """
    databases = Databases(phase.database, work)
    found.databases.append(databases)
    if phase.gateway:
        # Each port's first start command, all on ONE database, nginx in front.
        shared = databases.new("gateway")
        members = port_variants(names, False, numbers, work, lambda slug: shared, phase.database)
        found.variants.append(gateway_variant(members, shared, numbers, work))
        return found
    ports = port_variants(names, settings.all_starts, numbers, work, None, phase.database)
    extra = EXTRA_CEILINGS if settings.mode == "full" else set()
    if phase.ceilings:  # every family's hello, whichever ports this phase runs
        every = {v.server for v in ports} | extra
        found.variants += ceiling_variants(every, numbers, work / "nginx", nginx_workers)
        found.variants += exec_variants(numbers)
    if phase.families is not None:
        ports = [v for v in ports if v.server in phase.families]
        extra = {f for f in extra if f in phase.families}
    for variant in ports:  # a database only for the ports of this phase
        if phase.database == "postgres":
            variant.env["DATABASE_URL"] = databases.new(variant.name)
    found.variants = ports + found.variants
    wanted = {v.server for v in ports} | extra
    if with_floors:
        found.variants += _floors(settings, databases, wanted, numbers, found.scenarios)
    return found


def _floors(
    settings: Settings, databases: Databases, families: set[str], numbers: count, scenarios: dict
) -> list[Variant]:
    wanted = [name for name, spec in floors.FLOORS.items() if spec[0] in families]
    urls = {name: databases.new(name + ("@pg" if databases.kind == "postgres" else "")) for name in wanted}
    variants = floors.floor_variants(set(families), numbers, urls, server_argv)
    for variant in variants:
        variant.database = databases.kind
        if databases.kind == "postgres":
            variant.name += "@pg"
        keep = settings.postgres_scenarios if databases.kind == "postgres" else settings.floor_scenarios
        keep = [name for name in keep if name in floors.ONLY.get(variant.name.removesuffix("@pg"), keep)]
        made = floors.scenarios(*floors.seed_database(variant.env["FLOOR_DATABASE_URL"]))
        scenarios[variant.name] = [s for s in made if s.name in keep]
    return variants


def seed_servers(live: list[Variant], settings: Settings, scenarios: dict, failures: list[str]) -> None:
    """Seed every port (and the gateway) over the API; PostgreSQL and gateway cells keep fewer scenarios."""
    for variant in (v for v in live if v.group in {"port", "gateway"}):
        try:
            made = seed(variant)
        except (SeedError, OSError) as exc:
            failures.append(f"{variant.name}: seeding failed: {exc}")
            continue
        keep = (
            GATEWAY_SCENARIOS
            if variant.group == "gateway"
            else settings.postgres_scenarios
            if variant.database == "postgres"
            else [s.name for s in made]
        )
        scenarios[variant.name] = [s for s in made if s.name in keep]
