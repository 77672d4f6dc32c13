"""Completeness: every port marks every fundamental, and every marker names a known one."""

from __future__ import annotations

from concordance.markers import MarkerError, Region, port_regions
from concordance.model import Fundamental, PortDir


def collect(ports: list[PortDir]) -> tuple[dict[str, list[Region]], list[str]]:
    """Each port's regions, and the marker errors found while reading them."""
    regions: dict[str, list[Region]] = {}
    errors: list[str] = []
    for port in ports:
        try:
            regions[port.name] = port_regions(port.directory)
        except MarkerError as exc:
            regions[port.name] = []
            errors.append(f"{port.name}: {exc}")
    return regions, errors


def problems(fundamentals: list[Fundamental], regions: dict[str, list[Region]]) -> list[str]:
    """Unknown slugs, empty or cut regions, missing fundamentals, one line each (empty when complete)."""
    known = {fundamental.slug for fundamental in fundamentals}
    found: list[str] = []
    for port, port_regions_ in regions.items():
        for region in port_regions_:
            if region.slug not in known:
                found.append(
                    f"{port}: {region.path}:{region.first_line - 1}: unknown fundamental {region.slug!r}"
                )
            elif not region.code.strip():
                found.append(f"{port}: {region.path}:{region.first_line - 1}: empty region {region.slug!r}")
            elif region.cut:
                where = f"{region.path}:{region.first_line - 1}"
                found.append(f"{port}: {where}: region {region.slug!r} {region.cut}")
        marked = {region.slug for region in port_regions_}
        for fundamental in fundamentals:
            if fundamental.slug not in marked:
                found.append(f"{port}: no region for {fundamental.slug!r}")
    return found
