"""The PNG: requests/s and p99 per port and scenario at the highest concurrency, with ratios to ceilings."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display in CI: render to a file only
import matplotlib.pyplot as plt


def render(data: dict, path: Path) -> None:
    """Grouped bars per scenario, one bar per port:server; each labelled with its share of hello and nginx."""
    cells = data["cells"]
    ports = [c for c in cells if c["group"] == "port"]
    if not ports:
        return
    conns = max(c["connections"] for c in ports)
    ports = [c for c in ports if c["connections"] == conns]
    variants = sorted({c["variant"] for c in ports})
    scenarios = [s for s in data["meta"]["scenarios"] if any(c["scenario"] == s for c in ports)]
    by_key = {(c["variant"], c["scenario"]): c for c in ports}
    ceilings = sorted(
        (c for c in cells if c["group"] == "ceiling" and c["connections"] == conns), key=lambda c: -c["rps"]
    )
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(14, 10), constrained_layout=True)
    width = 0.8 / max(1, len(variants))
    colours = plt.get_cmap("tab10")
    for i, variant in enumerate(variants):
        xs, rps, p99, labels = [], [], [], []
        for j, scenario in enumerate(scenarios):
            cell = by_key.get((variant, scenario))
            if cell is None:
                continue
            xs.append(j + (i - (len(variants) - 1) / 2) * width)
            rps.append(0 if cell["failed"] else cell["rps"])
            p99.append(0 if cell["failed"] else cell["p99_ms"])
            hello = "–" if cell["vs_hello"] is None else f"{cell['vs_hello']:.0%}"
            nginx = "–" if cell["vs_nginx"] is None else f"{cell['vs_nginx']:.1%}"
            labels.append("FAILED" if cell["failed"] else f"h {hello}\nn {nginx}")
        bars = top.bar(xs, rps, width, label=variant, color=colours(i % 10))
        top.bar_label(bars, labels=labels, fontsize=6, padding=2)
        bottom.bar(xs, p99, width, label=variant, color=colours(i % 10))
    for axis in (top, bottom):
        axis.set_xticks(range(len(scenarios)), scenarios)
        axis.grid(axis="y", alpha=0.3)
    top.set_ylabel("requests/s (median)")
    top.set_title(
        f"Requests/s at {conns} connections ({data['meta']['mode']}, "
        f"{'pinned' if data['meta']['pinned'] else 'unpinned'}); labels: share of own server's "
        "bare hello (h) and of nginx (n)"
    )
    ceiling_text = "  ".join(f"{c['variant']}: {c['rps']:,.0f}" for c in ceilings if not c["failed"])
    top.set_xlabel(f"ceilings at {conns} connections, req/s: {ceiling_text}", fontsize=8)
    top.legend(fontsize=8, ncol=4, loc="upper right")
    bottom.set_ylabel("p99 latency, ms (median of runs)")
    bottom.axhline(100, color="grey", linestyle="--", linewidth=1)
    bottom.set_title(f"p99 at {conns} connections (dashed: the 100 ms target)")
    fig.savefig(path, dpi=110)
    plt.close(fig)
