"""`shoprec finetune-encoder`: the text stage, thin over `shoprec.text.finetune`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from shoprec.cli.common import Dedupe, KCore, app, clean_options, console, fail
from shoprec.data.errors import DataError


@app.command("finetune-encoder")
def finetune_encoder_command(
    dataset: Annotated[str, typer.Argument(help="data set name or path")],
    out: Annotated[Path, typer.Option(help="folder for the fine-tuned encoder")] = Path(
        "artifacts/encoders/finetuned"),
    base: Annotated[str, typer.Option(help="encoder to start from: minilm or a local folder")] = "minilm",
    minutes: Annotated[float, typer.Option(help="wall-clock budget for training")] = 15.0,
    steps: Annotated[int | None, typer.Option(help="step budget (default: one pass)")] = None,
    batch_size: Annotated[int, typer.Option(help="pairs per step (in-batch negatives)")] = 64,
    learning_rate: Annotated[float, typer.Option(help="AdamW learning rate")] = 3e-5,
    histories: Annotated[str, typer.Option(
        help="leave-one-out: train on the training part only (keeps evaluation honest); "
             "full: every interaction")] = "leave-one-out",
    train_layers: Annotated[int | None, typer.Option(
        help="train only the top N transformer layers (faster on a CPU); default all")] = None,
    threads: Annotated[int, typer.Option(help="CPU threads")] = 2,
    kcore: KCore = 1,
    dedupe: Dedupe = "exact",
) -> None:
    """Fine-tune the sentence encoder on pairs of items bought one after the other."""
    from shoprec.data.sources import load_dataset
    from shoprec.data.splits import full_train, leave_one_out
    from shoprec.text.finetune import FinetuneConfig, finetune_encoder

    if histories not in ("leave-one-out", "full"):
        fail(f"--histories {histories!r}: expected leave-one-out or full")
    try:
        ds = load_dataset(dataset, clean_options(kcore, dedupe))
        data = leave_one_out(ds).train if histories == "leave-one-out" else full_train(ds)
        config = FinetuneConfig(base=base, max_minutes=minutes, max_steps=steps,
                                batch_size=batch_size, learning_rate=learning_rate,
                                train_layers=train_layers, threads=threads)
        result = finetune_encoder(data, out, config)
    except (DataError, ValueError) as exc:
        fail(str(exc))
    table = Table(title=f"fine-tuned {base} on {ds.name} ({histories} histories)")
    table.add_column("what")
    table.add_column("value", justify="right")
    for key, value in (("device", result.device), ("steps", result.steps),
                       ("pairs seen / available", f"{result.pairs_seen} / {result.pairs_available}"),
                       ("seconds", f"{result.seconds:.0f}"),
                       ("loss first 20 -> last 20 steps",
                        f"{result.first_loss:.3f} -> {result.last_loss:.3f}")):
        table.add_row(key, str(value))
    console.print(table)
    console.print(f"encoder written to {result.path}; use it with "
                  f"--params '{{\"encoder\": \"{result.path}\"}}' (content, semantic)")

