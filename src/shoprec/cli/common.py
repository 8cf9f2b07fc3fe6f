"""The `shoprec` Typer app and what its stage modules share: the console, `fail`, the cleaning
options, and the shop's bundle, store and JSON options with the engine opened on a bundle.

Each stage module imports `app` from here and registers its commands on it (`shoprec.cli`
imports them all); a command imports its stage lazily so `shoprec --help` stays fast.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from shoprec.data.errors import DataError

if TYPE_CHECKING:
    from shoprec.data.clean import CleanOptions
    from shoprec.engine.opened_shop import LocalShop

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="shoprec: language-model driven recommendations for online shops.")
console = Console()


def fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


def clean_options(kcore: int, dedupe: str) -> CleanOptions:
    from shoprec.data.clean import CleanOptions

    return CleanOptions(dedupe=dedupe, min_user=kcore, min_item=kcore)  # type: ignore[arg-type]


KCore = Annotated[int, typer.Option(help="iterative k-core: drop users/items with fewer interactions")]
Dedupe = Annotated[str, typer.Option(help="duplicate removal: none, exact or user-item")]
Budget = Annotated[float | None, typer.Option(
    help="--model auto: wall-clock minutes for trying the family (default: 30 for a shop of "
         "Beauty's size, about 200k interactions; proportionally less for smaller ones)")]
MODEL_HELP = ("model name (see the registry), or auto: try the family within --budget and keep "
              "the best on validation")

# the shop's answers (`recommend`, `search`, `explain`, `profile`, `chat`) take these
BundleArg = Annotated[Path, typer.Argument(help="bundle folder from `shoprec train`")]
DatabaseUrl = Annotated[str | None, typer.Option(
    help="the shop's store (default: SHOPREC_DATABASE_URL, else the SQLite file the service "
         "keeps beside the bundle if there is one, else the bundle's own data)")]
AsJson = Annotated[bool, typer.Option("--json", help="print the items as JSON, as the API does")]


@contextmanager
def opened_shop(bundle: Path, database_url: str | None) -> Iterator[LocalShop]:
    """The engine opened on the bundle; a user's mistake ends the command with one line."""
    from shoprec.engine.opened_shop import open_shop

    shop = None
    try:
        shop = open_shop(bundle, database_url)
        yield shop
    except (DataError, KeyError, ValueError) as exc:
        fail(str(exc.args[0] if isinstance(exc, KeyError) else exc))
    finally:
        if shop is not None:
            shop.close()
