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
    runs = []
    for p in paths:
        try:
            run = json.loads(Path(p).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise DataError(f"{p}: not an evaluation JSON ({exc})") from exc
        if not {"dataset", "model", "metrics"} <= run.keys():
            raise DataError(f"{p}: missing dataset/model/metrics; write it with `shoprec evaluate --json`")
        runs.append(run)
    return runs


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
    labels = [f"{r['model']}\n{r['dataset']}" for r in runs]
    metrics = ("recall@10", "ndcg@10")
    fig, ax = plt.subplots(figsize=(max(5, 1.4 * len(runs)), 4))
    width = 0.38
    for n, metric in enumerate(metrics):
        xs = [i + (n - 0.5) * width for i in range(len(runs))]
        ax.bar(xs, [r["metrics"].get(metric, 0.0) for r in runs], width, label=metric)
    ax.set_xticks(range(len(runs)), labels, fontsize=8)
    ax.set_ylabel("full ranking, test")
    ax.legend()
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
