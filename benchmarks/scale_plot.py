"""Log-log cost curves of the scale rig: each stage's seconds and peak memory against items."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def plot(results: dict[str, Any], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = results.get("sizes", {})
    stages = sorted({s for e in sizes.values() for s in e["stages"]})
    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(13, 5.5))
    colours = plt.cm.tab20.colors
    labels = {"encode": "encode (10,000 texts at every size)", "request": "request (one shopper)",
              "sasrec": "sasrec (one epoch, 100k shoppers from 100k items)"}
    for n, stage in enumerate(stages):
        style = {"color": colours[(2 * n) % 20 + (n >= 10)], "label": labels.get(stage, stage),
                 "marker": "os^D"[n % 4]}
        pts = [(e["items"], e["stages"][stage]) for e in sizes.values()
               if "seconds" in e["stages"].get(stage, {})]
        pts.sort(key=lambda p: p[0])
        if not pts:
            continue
        x = [p[0] for p in pts]
        ax_t.plot(x, [max(p[1]["seconds"], 1e-4) for p in pts], "-", **style)
        ax_m.plot(x, [p[1]["peak_rss_mb"] for p in pts], "-", **style)
    if sizes:
        lo = min(e["items"] for e in sizes.values())
        hi = max(e["items"] for e in sizes.values())
        for ax in (ax_t,):
            ax.plot([lo, hi], [1, hi / lo], "k:", lw=1, label="linear (reference)")
    ax_t.set(xscale="log", yscale="log", xlabel="items (shoppers = 2 x items)",
             ylabel="seconds", title="wall time per stage")
    ax_m.set(xscale="log", yscale="log", xlabel="items (shoppers = 2 x items)",
             ylabel="peak RSS (MB)", title="peak memory per stage")
    ax_t.legend(fontsize=6, ncol=2, framealpha=0.4)
    ax_m.legend(fontsize=6, ncol=2, framealpha=0.4, loc="lower right")
    fig.suptitle("shoprec scale rig on SYNTHETIC shops (2-core machine); "
                 "stages missing at a size were not run there (see scale.json)", fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
