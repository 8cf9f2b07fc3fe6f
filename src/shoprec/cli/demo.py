"""`shoprec demo`: data, item-kNN and recommendations in seconds, then `auto`'s choice; with
`--serve` the shop on it (through `shoprec serve`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shoprec.cli.common import app, console, fail
from shoprec.cli.serve import serve
from shoprec.data.errors import DataError


@app.command()
def demo(
    dataset: Annotated[str, typer.Option(help="data set name or path")] = "amazon-beauty",
    out: Annotated[Path, typer.Option(help="bundle folder")] = Path("artifacts/demo-bundle"),
    serve_shop: Annotated[bool, typer.Option("--serve/--no-serve", help="then serve the shop "
                                             "page and API on the bundle")] = False,
    port: Annotated[int, typer.Option(help="TCP port for --serve")] = 8000,
    budget: Annotated[float | None, typer.Option(
        help="minutes for choosing the model with auto (default 4); with --serve it runs in "
             "the background while item-kNN serves, and its choice then serves without a "
             "restart")] = None,
    lang: Annotated[str, typer.Option(
        help="language of the served page: auto (the browser's, else the catalogue's), zh, en"
    )] = "auto",
) -> None:
    """Prepare the default data, train item-kNN (seconds), show recommendations; then choose a
    model with auto (short budget) and publish it as the bundle's next generation: in the
    background while the shop serves (--serve), else here."""
    from shoprec.demo import DEMO_BUDGET_MINUTES, choose_here, run_demo

    if lang not in ("auto", "zh", "en"):
        fail(f"--lang {lang}: expected auto, zh or en")
    minutes = budget or DEMO_BUDGET_MINUTES
    try:
        path = run_demo(dataset, out, console)
        if not serve_shop:
            choose_here(path, minutes, console)
    except DataError as exc:
        fail(str(exc))
    if serve_shop:  # the demo's store is its own: seeded on first start, 12 shoppers to try
        serve(path, host="127.0.0.1", port=port, seed=True, demo_shoppers=12, lang=lang,
              choose_minutes=minutes)

