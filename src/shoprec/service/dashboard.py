"""The dashboard's overview: traffic and latency per minute, the serving bundle and its
generations, the last retrain jobs. Traffic comes from the exposure log (every served list),
so it counts what all workers served, not just this process."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import numpy as np

from shoprec.generations import generation_path, generations, serving_path
from shoprec.service.context import ServiceContext
from shoprec.service.retrain_job import read_job, recent_job_ids
from shoprec.store.experiment_tables import experiment_exposures

RETRAINS_SHOWN = 10


def overview(ctx: ServiceContext, since: float) -> dict[str, Any]:
    serving = ctx.serving
    exp = ctx.state.arms.experiment
    return {"serving": {"model": serving.version, "generation": serving.generation,
                        "items": serving.n_items},
            "experiment": exp.id if exp else None,
            "generations": _generations(ctx),
            "retrains": [{k: v for k, v in job.items() if k != "traceback"}
                         for job_id in recent_job_ids(ctx.bundle_dir, RETRAINS_SHOWN)
                         if (job := read_job(ctx.bundle_dir, job_id))],
            "traffic": traffic(ctx, since),
            "exposures_logged": ctx.settings.exposure_logging}


def _generations(ctx: ServiceContext) -> list[dict[str, Any]]:
    serving, _ = serving_path(ctx.bundle_dir)
    out = []
    for g in generations(ctx.bundle_dir):
        try:
            m = json.loads((generation_path(ctx.bundle_dir, g) / "manifest.json").read_text())
        except (OSError, ValueError):
            continue
        out.append({"generation": g, "model": m.get("model"), "created": m.get("created"),
                    "serving": g == serving})
    return out


def traffic(ctx: ServiceContext, since: float) -> list[dict[str, Any]]:
    """Per minute: lists served, failed, and p95 latency (ms), by variant when one ran."""
    minutes: dict[int, list] = defaultdict(list)
    for e in experiment_exposures(ctx.store.engine, None, since):
        minutes[int(e.created_at // 60) * 60].append(e)
    out = []
    for t in sorted(minutes):
        rows = minutes[t]
        ok = [r.latency_ms for r in rows if r.status < 500]
        per_variant: dict[str, int] = defaultdict(int)
        for r in rows:
            per_variant[r.variant or "(none)"] += 1
        out.append({"t": t, "requests": len(rows), "errors": len(rows) - len(ok),
                    "p95_ms": float(np.percentile(ok, 95)) if ok else None,
                    "by_variant": dict(per_variant)})
    return out
