"""Discover the ports (../impl-*/port.toml) and the ways each one can be started."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from conformance.paths import REPO_ROOT


@dataclass(frozen=True)
class Start:
    """One way to serve a port: a named command with {host}/{port} placeholders."""

    name: str
    command: list[str]


@dataclass(frozen=True)
class Port:
    """One implementation of the API, as its port.toml describes it."""

    name: str
    directory: Path
    ready: str
    setup: list[list[str]]
    env: dict[str, str]
    starts: list[Start] = field(default_factory=list)


def load_port(manifest: Path) -> Port:
    """Parse one port.toml (the format is fixed by the port brief)."""
    data = tomllib.loads(manifest.read_text())
    starts = [Start(name=entry["name"], command=list(entry["command"])) for entry in data.get("start", [])]
    if not starts:
        raise ValueError(f"{manifest}: no [[start]] entry")
    return Port(
        name=data["name"],
        directory=manifest.parent,
        ready=data.get("ready", "/readyz"),
        setup=[list(step) for step in data.get("setup", [])],
        env={key: str(value) for key, value in data.get("env", {}).items()},
        starts=starts,
    )


def discover(names: list[str] | None = None) -> list[Port]:
    """Every port under the repository root, sorted by name, optionally only those in `names`."""
    ports = sorted(
        (load_port(path) for path in REPO_ROOT.glob("impl-*/port.toml")), key=lambda port: port.name
    )
    if names is None:
        return ports
    unknown = set(names) - {port.name for port in ports}
    if unknown:
        raise ValueError(
            f"unknown port(s): {', '.join(sorted(unknown))}; known: {', '.join(p.name for p in ports)}"
        )
    return [port for port in ports if port.name in names]
