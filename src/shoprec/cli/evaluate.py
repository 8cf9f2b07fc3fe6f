"""`shoprec evaluate` and `shoprec report`: offline quality, thin over `shoprec.evaluation`;
also the tables of metrics and of `auto`'s candidates that `shoprec train` prints too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from shoprec.cli.common import MODEL_HELP, Budget, Dedupe, KCore, app, clean_options, console, fail
from shoprec.data.errors import DataError


@app.command()
def evaluate(
    dataset: Annotated[str, typer.Argument(help="data set name or path")],
    model: Annotated[str, typer.Option(help=MODEL_HELP)] = "itemknn",
    protocol: Annotated[str, typer.Option(help="leave-one-out or temporal")] = "leave-one-out",
    json_path: Annotated[Path | None, typer.Option("--json", help="write the result here")] = None,
    budget: Budget = None,
    kcore: KCore = 1,
    dedupe: Dedupe = "exact",
) -> None:
    """Train on train, pick hyper-parameters on validation, report test (full ranking)."""
    from shoprec.data.sources import load_dataset
    from shoprec.evaluation.protocol import run_evaluation

    try:
        ds = load_dataset(dataset, clean_options(kcore, dedupe))
        if model == "auto":
            from shoprec.evaluation.auto import evaluate_auto

            result = evaluate_auto(ds, protocol, budget, progress=console.print)
            console.print(candidates_table(result.tried))
        else:
            result = run_evaluation(ds, model, protocol)
    except (DataError, KeyError, ValueError) as exc:
        fail(str(exc))
    title = (f"{result.model} on {result.dataset} ({result.protocol}, full ranking, test) "
             f"params={result.params}")
    console.print(metric_table(result.metrics, title=title))
    console.print(f"train {result.train_seconds:.1f}s, eval {result.eval_seconds:.1f}s, "
                  f"coverage@20 {result.metrics['coverage@20']:.3f}")
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(result.to_json(), indent=2))


def candidates_table(candidates: list[dict]) -> Table:
    table = Table(title="auto: every candidate on validation (the best one is kept)")
    for col in ("candidate", "parameters", "valid ndcg@10", "seconds", "status"):
        table.add_column(col, justify="right" if col in ("valid ndcg@10", "seconds") else "left")
    for c in candidates:
        ndcg = c["valid_ndcg@10"]
        params = {k: v for k, v in c["params"].items() if k not in ("progress", "threads")}
        table.add_row(c["label"], json.dumps(params, default=str)[:60],
                      "" if ndcg is None else f"{ndcg:.4f}", f"{c['seconds']:.0f}", c["status"])
    return table


def metric_table(metrics: dict[str, float], title: str | None) -> Table:
    table = Table(title=title)
    table.add_column("metric")
    for k in (5, 10, 20):
        table.add_column(f"@{k}", justify="right")
    for metric in ("recall", "ndcg", "mrr", "precision", "f1"):
        table.add_row(metric, *[f"{metrics[f'{metric}@{k}']:.4f}" for k in (5, 10, 20)])
    return table



@app.command()
def report(
    results: Annotated[list[Path], typer.Argument(help="JSON files from `shoprec evaluate --json`")],
    out: Annotated[Path, typer.Option(help="folder for report.md and report.png")] = Path("artifacts/report"),
) -> None:
    """A markdown table and a PNG bar chart of several evaluation runs."""
    from shoprec.evaluation.report import write_report

    md, png = write_report(results, out)
    console.print(md.read_text())
    console.print(f"written {md} and {png}")

