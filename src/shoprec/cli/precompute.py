"""`shoprec precompute`: every shopper's top-k written to the store, sharded over Ray workers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from shoprec.cli.common import app, console, fail
from shoprec.data.errors import DataError


@app.command()
def precompute(
    bundle: Annotated[Path, typer.Argument(help="bundle folder written by `shoprec train`")],
    k: Annotated[int, typer.Option(help="recommendations kept per shopper")] = 10,
    ray: Annotated[str | None, typer.Option(
        "--ray", help="address of a running Ray cluster to join (e.g. auto, host:6379, "
                      "ray://host:10001); without it a local one is started")] = None,
    workers: Annotated[int, typer.Option(
        help="Ray workers (CPUs) to shard the shoppers over; 0 = one process, no Ray")] = 2,
    refresh: Annotated[bool, typer.Option(
        help="recompute only shoppers whose store events are newer than their list")] = False,
    database_url: Annotated[str | None, typer.Option(
        help="store URL (default: the SQLite file beside the bundle)")] = None,
) -> None:
    """Compute top-k for every shopper of BUNDLE and write it to the store's `precomputed`
    table, from which a request can be answered without scoring."""
    from shoprec.distributed.precompute import precompute_bundle

    if k < 1 or workers < 0:
        fail(f"--k must be >= 1 and --workers >= 0, got k={k}, workers={workers}")
    try:
        report = precompute_bundle(bundle, k=k, workers=workers, address=ray,
                                   database_url=database_url, refresh=refresh)
    except (DataError, ImportError, ValueError) as exc:
        fail(str(exc))
    table = Table(title=f"precomputed top-{k}")
    for key in ("shoppers", "written", "seconds", "workers", "nodes", "version", "database"):
        value = getattr(report, key)
        table.add_row(key, f"{value:.2f}" if isinstance(value, float) else str(value))
    console.print(table)
