"""`shoprec train`: fit a model on a data set and write a bundle, thin over `shoprec.training`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from shoprec.cli.common import MODEL_HELP, Budget, Dedupe, KCore, app, clean_options, console, fail
from shoprec.cli.evaluate import candidates_table
from shoprec.data.errors import DataError


@app.command()
def train(
    dataset: Annotated[str, typer.Argument(help="data set name or path")],
    out: Annotated[Path, typer.Option(help="bundle folder to write")],
    model: Annotated[str, typer.Option(help=MODEL_HELP)] = "itemknn",
    params: Annotated[str | None, typer.Option(help='JSON of model parameters, e.g. \'{"neighbours": 50}\'')] = None,
    tune: Annotated[bool, typer.Option(help="choose parameters on a validation split of DATASET first")] = False,
    budget: Budget = None,
    kcore: KCore = 1,
    dedupe: Dedupe = "exact",
    event_weights: Annotated[str | None, typer.Option(
        help="how strongly each event type counts, e.g. purchase=4,cart=3 (defaults: view 1, "
             "click 1.5, cart 2.5, purchase 3, rating x its stars, dismiss -1)")] = None,
    hold_out_last: Annotated[bool, typer.Option(
        help="leave each shopper's last interaction out (for `shoprec replay`)")] = False,
) -> None:
    """Fit MODEL on all of DATASET and write a bundle."""
    from shoprec.data.events import EventWeights
    from shoprec.training import train_bundle

    try:
        weights = EventWeights.parse(event_weights) if event_weights else None
        path = train_bundle(dataset, out, model, json.loads(params) if params else None,
                            clean_options(kcore, dedupe), tune=tune, budget_minutes=budget,
                            progress=console.print, event_weights=weights,
                            hold_out_last=hold_out_last)
    except (DataError, KeyError, ValueError) as exc:
        fail(str(exc))
    if model == "auto":
        selection = json.loads((path / "manifest.json").read_text())["selection"]
        console.print(candidates_table(selection["candidates"]))
        console.print(f"chosen: [bold]{selection['chosen']}[/bold] in {selection['seconds']:.0f} s "
                      f"(budget {selection['budget_minutes']} min)")
    console.print(f"bundle written to {path}")

