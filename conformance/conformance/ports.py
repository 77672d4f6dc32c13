"""The ports of this repository (../impl-*/port.toml), read by the shared loader (../portfile)."""

from __future__ import annotations

import portfile
from conformance.paths import REPO_ROOT
from portfile import Port, Start

__all__ = ["Port", "Start", "discover"]


def discover(names: list[str] | None = None) -> list[Port]:
    """Every port under the repository root, sorted by name, optionally only those in `names`."""
    return portfile.discover(REPO_ROOT, names)
