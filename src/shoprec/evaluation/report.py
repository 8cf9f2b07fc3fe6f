"""`shoprec report`: several evaluation JSON files as one markdown table and one bar chart."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from shoprec.data.errors import DataError

COLUMNS = ("recall@10", "ndcg@10", "mrr@10", "recall@20", "ndcg@20", "coverage@20")


def load_results(paths: list[Path]) -> list[dict]:
    """Runs from `shoprec evaluate --json` files and from benchmarks/results/accuracy.json (every
    data set x model of the accuracy benchmark, test metrics)."""
    runs = []
    for p in paths:
        try:
            run = json.loads(Path(p).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise DataError(f"{p}: not an evaluation JSON ({exc})") from exc
        if isinstance(run, dict) and "runs" in run:
            runs.extend(_accuracy_rows(run))
            continue
        if not isinstance(run, dict) or not {"dataset", "model", "metrics"} <= run.keys():
            raise DataError(f"{p}: missing dataset/model/metrics; write it with `shoprec evaluate "
                            "--json` or benchmarks/accuracy.py")
        runs.append(run)
    return runs


def _accuracy_rows(accuracy: dict) -> list[dict]:
    rows = []
    for key, run in accuracy["runs"].items():
        for r in run["results"]:
            if "test" in r:
                chosen = " (auto)" if r["label"] == run["auto"]["chosen"] else ""
                rows.append({"dataset": key, "model": r["label"] + chosen,
                             "protocol": run["data"]["protocol"], "metrics": r["test"],
                             "train_seconds": r["seconds"]})
    return rows


def markdown_table(runs: list[dict]) -> str:
    head = ["dataset", "model", "protocol", *COLUMNS, "train s", "eval s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in runs:
        m = r["metrics"]
        cells = [r["dataset"], r["model"], r.get("protocol", "")]
        cells += [f"{m[c]:.4f}" if c in m else "" for c in COLUMNS]
        cells += [f"{r.get('train_seconds', 0):.1f}", f"{r.get('eval_seconds', 0):.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def bar_chart(runs: list[dict], path: Path) -> None:
    """Recall@10 and NDCG@10 side by side: one group of bars per data set, one bar per model."""
    datasets = list(dict.fromkeys(r["dataset"] for r in runs))
    models = list(dict.fromkeys(r["model"].removesuffix(" (auto)") for r in runs))
    width = 0.8 / len(models)
    fig, axes = plt.subplots(1, 2, figsize=(max(7, 1.6 * len(datasets) * 2), 4.5))
    for ax, metric in zip(axes, ("recall@10", "ndcg@10")):
        for n, model in enumerate(models):
            xs, ys, auto = [], [], []
            for d, dataset in enumerate(datasets):
                run = next((r for r in runs if r["dataset"] == dataset
                            and r["model"].removesuffix(" (auto)") == model), None)
                if run is not None:
                    xs.append(d + (n - (len(models) - 1) / 2) * width)
                    ys.append(run["metrics"].get(metric, 0.0))
                    auto.append(run["model"].endswith("(auto)"))
            bars = ax.bar(xs, ys, width, label=model)
            for bar, chosen in zip(bars, auto):
                if chosen:
                    bar.set_hatch("//")
        ax.set_xticks(range(len(datasets)), datasets, fontsize=8)
        ax.set_title(f"{metric}, full ranking, test")
    axes[0].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_report(paths: list[Path], out: Path) -> tuple[Path, Path]:
    runs = load_results(paths)
    out.mkdir(parents=True, exist_ok=True)
    md, png = out / "report.md", out / "report.png"
    md.write_text(markdown_table(runs))
    bar_chart(runs, png)
    return md, png
