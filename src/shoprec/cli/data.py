"""`shoprec prepare` and `shoprec fetch-data`: the data stage, thin over `shoprec.data`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from shoprec.cli.common import Dedupe, KCore, app, clean_options, console, fail
from shoprec.data.errors import DataError


@app.command()
def prepare(
    source: Annotated[str, typer.Argument(help="amazon-beauty, movielens-100k, or a path")],
    out: Annotated[Path | None, typer.Option(help="prepared folder (default artifacts/prepared/NAME)")] = None,
    kcore: KCore = 1,
    dedupe: Dedupe = "exact",
) -> None:
    """Read SOURCE, clean it, and write a prepared folder (Parquet + manifest)."""
    from shoprec.data.prepare import prepare_dataset

    try:
        manifest = prepare_dataset(source, out, clean_options(kcore, dedupe))
    except DataError as exc:
        fail(str(exc))
    table = Table(title=f"prepared {manifest['name']} -> {manifest['path']}")
    table.add_column("what")
    table.add_column("value", justify="right")
    for key in ("users", "items", "interactions", "items_with_text", "density",
                "mean_history", "first_time", "last_time", "fingerprint"):
        table.add_row(key, str(manifest[key]))
    console.print(table)



@app.command("fetch-data")
def fetch_data(
    name: Annotated[str, typer.Argument(help="amazon-beauty, movielens-100k, "
                                        "chinese-online-shopping-10-cats, or all")],
    mirror: Annotated[str | None, typer.Option(help="base URL laid out like raw.githubusercontent"
                                               ".com (default SHOPREC_DATA_MIRROR, else GitHub)")] = None,
) -> None:
    """Download a data set from its public source, check each file's SHA-256, and cache it.

    With SHOPREC_DATA_DIR set, checks (and completes) the copy there instead.
    """
    import os

    from shoprec.data.fetch import DATASETS, cache_data_dir, fetch

    local = os.environ.get("SHOPREC_DATA_DIR")
    root = Path(local).expanduser() if local else None
    table = Table(title=f"data in {root or cache_data_dir()}")
    for column in ("data set", "file", "bytes", "status"):
        table.add_column(column, justify="right" if column == "bytes" else "left", overflow="fold")
    for each in (list(DATASETS) if name == "all" else [name]):
        try:
            rows = fetch(each, root=root, mirror=mirror)
        except DataError as exc:
            if table.row_count:
                console.print(table)
            fail(str(exc))
        for row in rows:
            table.add_row(each, row.name, f"{row.size:,}", row.status)
    console.print(table)

