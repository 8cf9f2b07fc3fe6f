"""From stored exposures and outcomes to a per-variant readout.

An event that carries a request id is attributed to that served list when its item was in the
list; its position is the one the client sent, else the item's place in the list (1 = first).
Events whose item was not in the list are not attributed (the shopper found it elsewhere). Per
exposure, the readout counts whether it led to a click (a click, view, cart or purchase of a
listed item: a cart or purchase implies the click), an add-to-cart (cart or purchase), a
purchase, and the revenue of the purchases (catalogue price when the event arrived). The first
variant is the control. Ad slots (surface "ad") are reported apart and left out of the main
metrics, so ads never dilute the feed's CTR.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from shoprec.experiments import stats
from shoprec.experiments.lifecycle import Experiment
from shoprec.store.experiment_tables import ExposureRow, OutcomeRow

CLICKS = frozenset({"click", "view", "cart", "purchase"})
CARTS = frozenset({"cart", "purchase"})
SERIES_POINTS = 20


def attribute(exposures: Sequence[ExposureRow], outcomes: Sequence[OutcomeRow]
              ) -> dict[str, dict[str, Any]]:
    """Per request id: clicked, carted, purchased, revenue and the positions clicked."""
    lists = {e.request_id: json.loads(e.items) for e in exposures}
    out: dict[str, dict[str, Any]] = {}
    for o in outcomes:
        items = lists.get(o.request_id)
        if items is None or o.item_id not in items:
            continue
        flags = out.setdefault(o.request_id, {"clicked": False, "carted": False,
                                              "purchased": False, "revenue": 0.0,
                                              "positions": [], "bought": set()})
        position = o.position or items.index(o.item_id) + 1
        if o.event in CLICKS and not flags["clicked"]:
            flags["clicked"] = True
            flags["positions"].append(position)
        if o.event in CARTS:
            flags["carted"] = True
        if o.event == "purchase" and o.item_id not in flags["bought"]:  # a retry counts once
            flags["purchased"] = True
            flags["bought"].add(o.item_id)
            flags["revenue"] += o.price or 0.0
    return out


def _metrics(rows: list[ExposureRow], flags: dict[str, dict[str, Any]], has_prices: bool,
             alpha: float) -> dict[str, Any]:
    served = [r for r in rows if r.status < 500]
    n = len(served)
    got = [flags.get(r.request_id) for r in served]
    count = {k: sum(1 for f in got if f and f[k]) for k in ("clicked", "carted", "purchased")}
    return {
        "exposures": n,
        "ctr": stats.rate_interval(count["clicked"], n, alpha),
        "add_to_cart": stats.rate_interval(count["carted"], n, alpha),
        "conversion": stats.rate_interval(count["purchased"], n, alpha),
        "revenue_per_exposure": (stats.mean_interval([f["revenue"] if f else 0.0 for f in got],
                                                     alpha) if has_prices else None),
        "p95_latency_ms": stats.p95([r.latency_ms for r in served]),
        "error_rate": stats.rate_interval(len(rows) - n, len(rows), alpha),
        "clicked_positions": np.bincount([p for f in got if f for p in f["positions"]]
                                         ).tolist()[1:],
    }


def readout(experiment: Experiment, exposures: Sequence[ExposureRow],
            outcomes: Sequence[OutcomeRow], assigned: dict[str, int],
            has_prices: bool = False) -> dict[str, Any]:
    """Everything the status command and the dashboard show for one experiment."""
    rule = experiment.stopping
    flags = attribute(exposures, outcomes)
    by_variant: dict[str, list[ExposureRow]] = defaultdict(list)
    ads: dict[str, list[ExposureRow]] = defaultdict(list)
    for e in exposures:
        if e.variant is not None:
            (ads if e.surface == "ad" else by_variant)[e.variant].append(e)
    names = experiment.variant_names
    control = names[0]
    variants = []
    for v in experiment.variants:
        m = _metrics(by_variant[v.name], flags, has_prices, rule.alpha)
        m["ads"] = _metrics(ads[v.name], flags, False, rule.alpha)["ctr"]
        m["by_surface"] = {s: _metrics([e for e in by_variant[v.name] if e.surface == s], flags,
                                       False, rule.alpha)["ctr"]
                           for s in sorted({e.surface for e in by_variant[v.name]})}
        variants.append({"name": v.name, "bundle": v.bundle, "weight": v.weight,
                         "shoppers": assigned.get(v.name, 0), **m})
    base = variants[0]
    for m in variants:
        m["lift_ctr"] = (None if m["name"] == control else stats.lift(
            m["ctr"]["successes"], m["exposures"], base["ctr"]["successes"], base["exposures"],
            rule.alpha))
    srm_p = stats.srm_pvalue([assigned.get(n, 0) for n in names],
                             [v.weight for v in experiment.variants])
    guardrails = _guardrails(variants, rule.max_p95_ratio, rule.max_error_rate)
    return {"experiment": experiment.to_json(), "control": control, "variants": variants,
            "srm": {"p_value": srm_p, "ok": srm_p is None or srm_p >= stats.SRM_ALPHA,
                    "shoppers": {n: assigned.get(n, 0) for n in names}},
            "guardrails": guardrails,
            "stopping": _decide(variants, rule, srm_p, guardrails),
            "series": series(experiment, by_variant, flags, rule.alpha)}


def _guardrails(variants: list[dict], max_ratio: float, max_errors: float) -> list[dict]:
    base = variants[0]["p95_latency_ms"]
    out = []
    for m in variants:
        ratio = m["p95_latency_ms"] / base if base and m["p95_latency_ms"] is not None else None
        out.append({"variant": m["name"], "check": "p95 latency / control's",
                    "value": ratio, "limit": max_ratio, "ok": ratio is None or ratio <= max_ratio})
        rate = m["error_rate"]["rate"]
        out.append({"variant": m["name"], "check": "error rate", "value": rate,
                    "limit": max_errors, "ok": rate is None or rate <= max_errors})
    return out


def _decide(variants: list[dict], rule: Any, srm_p: float | None,
            guardrails: list[dict]) -> dict[str, Any]:
    """The fixed-horizon rule (see `stats`): read the test once every variant has its
    exposures; the winner is the variant with a significant lift that keeps its guardrails."""
    base = variants[0]
    needed = rule.exposures_per_variant or (
        stats.required_exposures(base["ctr"]["rate"] or 0.0, rule.min_detectable_lift,
                                 rule.alpha, rule.power))
    reached = needed is not None and all(m["exposures"] >= needed for m in variants)
    out = {"rule": f"fixed horizon: {needed or '?'} exposures per variant (detects a "
                   f"{rule.min_detectable_lift:+.0%} CTR lift, alpha {rule.alpha}, power "
                   f"{rule.power}), then one two-sided test per variant against the control",
           "required_per_variant": needed, "reached": reached, "winner": None}
    if srm_p is not None and srm_p < stats.SRM_ALPHA:
        return out | {"decision": "invalid: sample-ratio mismatch"}
    if not reached:
        return out | {"decision": "continue"}
    broken = {g["variant"] for g in guardrails if not g["ok"]}
    significant = [m for m in variants[1:] if m["lift_ctr"]["p_value"] is not None
                   and m["lift_ctr"]["p_value"] < rule.alpha]
    better = [m for m in significant if m["lift_ctr"]["lift"] > 0]
    allowed = [m for m in better if m["name"] not in broken]
    if allowed:
        best = max(allowed, key=lambda m: m["ctr"]["rate"])
        return out | {"decision": f"{best['name']} wins", "winner": best["name"]}
    if better:
        names = ", ".join(m["name"] for m in better)
        return out | {"decision": f"{names} lifted CTR but broke a guardrail: keep the control",
                      "winner": base["name"]}
    if significant and len(significant) == len(variants) - 1:
        return out | {"decision": "control wins", "winner": base["name"]}
    return out | {"decision": "no significant difference", "winner": None}


def series(experiment: Experiment, by_variant: dict[str, list[ExposureRow]],
           flags: dict[str, dict[str, Any]], alpha: float) -> dict[str, list[dict]]:
    """Per variant, cumulative CTR with its interval, traffic and p95 latency at up to
    SERIES_POINTS times (the dashboard's charts)."""
    times = [e.created_at for rows in by_variant.values() for e in rows]
    if not times:
        return {v: [] for v in experiment.variant_names}
    start, end = min(times), max(times)
    edges = np.linspace(start, end, SERIES_POINTS + 1)[1:] if end > start else np.array([end])
    out: dict[str, list[dict]] = {}
    for name in experiment.variant_names:
        rows = [e for e in by_variant.get(name, []) if e.status < 500]
        t = np.array([e.created_at for e in rows])
        hit = np.array([bool(flags.get(e.request_id, {}).get("clicked")) for e in rows])
        lat = np.array([e.latency_ms for e in rows])
        points, prev = [], -np.inf
        for edge in edges:
            upto = t <= edge
            window = (t > prev) & upto
            ci = stats.rate_interval(int(hit[upto].sum()), int(upto.sum()), alpha)
            points.append({"t": float(edge), "exposures": int(window.sum()),
                           "ctr": ci["rate"], "low": ci["low"], "high": ci["high"],
                           "p95_ms": stats.p95(lat[window].tolist())})
            prev = edge
        out[name] = points
    return out


def load_readout(engine: Any, experiment: Experiment, has_prices: bool = False
                 ) -> dict[str, Any]:
    """The readout of `experiment` from the store behind `engine`."""
    from shoprec.store.experiment_tables import (
        assignment_counts,
        experiment_exposures,
        experiment_outcomes,
    )

    return readout(experiment, experiment_exposures(engine, experiment.id),
                   experiment_outcomes(engine, experiment.id),
                   assignment_counts(engine, experiment.id), has_prices)
