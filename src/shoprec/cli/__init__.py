"""The `shoprec` command line: thin commands over the stage packages; each prints a table.

`common` holds the Typer app and the options its commands share; each stage has its module
(a new command goes in its stage's module, or a new one imported below), and `shoprec --help`
lists the commands in the loop's order, `COMMAND_ORDER`.
"""

from __future__ import annotations

from typer.main import get_command_name
from typer.models import CommandInfo

from shoprec.cli import (  # noqa: F401 - each registers its commands on `app`
    chat,
    data,
    demo,
    encoder,
    evaluate,
    experiments,
    precompute,
    replay,
    retrain,
    serve,
    shop,
    train,
)
from shoprec.cli.common import app

__all__ = ["app", "main"]

#: How `shoprec --help` lists the commands; any other comes after them, as registered.
COMMAND_ORDER = ("prepare", "evaluate", "train", "report", "demo", "serve", "retrain", "rollback",
                 "finetune-encoder", "fetch-data", "recommend", "search", "explain", "profile",
                 "chat", "replay", "precompute")


def _help_position(command: CommandInfo) -> int:
    name = command.name or get_command_name(command.callback.__name__)
    return COMMAND_ORDER.index(name) if name in COMMAND_ORDER else len(COMMAND_ORDER)


app.registered_commands.sort(key=_help_position)


def main() -> None:
    """The console script: run the app as `shoprec`."""
    app(prog_name="shoprec")
