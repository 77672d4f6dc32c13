"""The ports' manifests (impl-*/port.toml): one loader shared by conformance, bench and concordance."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

MANIFEST = "port.toml"
PATTERN = f"impl-*/{MANIFEST}"
DEFAULT_READY = "/readyz"

__all__ = ["DEFAULT_READY", "MANIFEST", "PATTERN", "Port", "Start", "discover", "load"]


@dataclass(frozen=True)
class Start:
    """One way to serve a port: a named command with {host}/{port} placeholders."""

    name: str
    command: list[str]

    def argv(self, host: str, port: int) -> list[str]:
        """The command with {host} and {port} filled in."""
        return [part.replace("{host}", host).replace("{port}", str(port)) for part in self.command]


@dataclass(frozen=True)
class Port:
    """One implementation of the API, as its port.toml describes it."""

    name: str
    directory: Path
    ready: str
    setup: list[list[str]]
    env: dict[str, str]
    starts: list[Start] = field(default_factory=list)


def load(manifest: Path) -> Port:
    """Parse one port.toml; ValueError (naming the file) when it has no name or no [[start]] entry."""
    try:
        data = tomllib.loads(manifest.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{manifest}: {exc}") from exc
    if not isinstance(data.get("name"), str) or not data["name"]:
        raise ValueError(f"{manifest}: no name")
    starts = [Start(name=entry["name"], command=list(entry["command"])) for entry in data.get("start", [])]
    if not starts:
        raise ValueError(f"{manifest}: no [[start]] entry")
    return Port(
        name=data["name"],
        directory=manifest.parent,
        ready=data.get("ready", DEFAULT_READY),
        setup=[list(step) for step in data.get("setup", [])],
        env={key: str(value) for key, value in data.get("env", {}).items()},
        starts=starts,
    )


def discover(root: Path, names: list[str] | None = None) -> list[Port]:
    """Every impl-*/port.toml under `root`, sorted by name; only `names` (ValueError on an unknown one)."""
    ports = sorted((load(path) for path in root.glob(PATTERN)), key=lambda port: port.name)
    if names is None:
        return ports
    unknown = set(names) - {port.name for port in ports}
    if unknown:
        raise ValueError(
            f"unknown port(s): {', '.join(sorted(unknown))}; known: {', '.join(p.name for p in ports)}"
        )
    return [port for port in ports if port.name in names]
