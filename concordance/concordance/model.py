"""The fundamentals (fundamentals.toml) and the ports that mark them (impl-*/port.toml, via portfile)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import portfile

CONCORDANCE_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = CONCORDANCE_DIR.parent
FUNDAMENTALS = CONCORDANCE_DIR / "fundamentals.toml"


@dataclass(frozen=True)
class Fundamental:
    """One section of the concordance."""

    slug: str
    title: str
    why: str
    spec: str
    test: str


@dataclass(frozen=True)
class PortDir:
    """A port's name (from its port.toml) and its directory."""

    name: str
    directory: Path


def load_fundamentals(path: Path = FUNDAMENTALS) -> tuple[list[Fundamental], list[str]]:
    """The fundamentals in reading order, and the preferred order of the port columns."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    fundamentals = [Fundamental(**entry) for entry in data["fundamental"]]
    return fundamentals, list(data.get("port_order", []))


def discover_ports(root: Path, order: list[str]) -> list[PortDir]:
    """Every impl-*/port.toml under `root`: the listed order first, then any other port by name."""
    ports = [PortDir(port.name, port.directory) for port in portfile.discover(root)]
    rank = {name: index for index, name in enumerate(order)}
    return sorted(ports, key=lambda port: (rank.get(port.name, len(rank)), port.name))
