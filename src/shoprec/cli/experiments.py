"""`shoprec experiment start|status|ramp|stop|promote`: thin over `shoprec.experiments`; its
readout table serves `shoprec replay` too. The experiment file lies beside the bundle, so a
running service picks a change up within half a second (every worker)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from shoprec.cli.common import app, console, fail
from shoprec.data.errors import DataError

experiment_app = typer.Typer(no_args_is_help=True, help="A/B experiments between bundles.")
app.add_typer(experiment_app, name="experiment")
BundleArg = Annotated[Path, typer.Argument(help="the bundle the service serves")]
DatabaseUrl = Annotated[str | None, typer.Option(
    help="the service's store (default: SHOPREC_DATABASE_URL, else the SQLite file beside the "
         "bundle)")]


def parse_variant(text: str) -> Any:
    """NAME=BUNDLE[:WEIGHT] or NAME[:WEIGHT] (the serving bundle)."""
    from shoprec.experiments.lifecycle import Variant

    name, _, rest = text.partition("=")
    if not rest:
        name, _, weight = name.partition(":")
        bundle = None
    else:
        bundle, _, weight = rest.rpartition(":") if ":" in rest else (rest, "", "")
    try:
        return Variant(name.strip(), bundle or None, float(weight) if weight else 1.0)
    except ValueError:
        fail(f"--variant {text!r}: expected NAME=BUNDLE[:WEIGHT] or NAME[:WEIGHT]")


@experiment_app.command("start")
def start(
    bundle: BundleArg,
    variant: Annotated[list[str], typer.Option(help="NAME=BUNDLE[:WEIGHT], or NAME[:WEIGHT] for "
                                                     "the serving bundle; twice or more")],
    name: Annotated[str, typer.Option(help="what the experiment tests")] = "",
    ramp: Annotated[float, typer.Option(help="share of shoppers in the experiment (0-1]")] = 1.0,
    min_lift: Annotated[float, typer.Option(help="smallest relative CTR lift to detect (sets "
                                                 "the fixed horizon)")] = 0.10,
    horizon: Annotated[int | None, typer.Option(help="exposures per variant before the test "
                                                     "is read (default: from --min-lift)")] = None,
) -> None:
    """Start serving the variants side by side (shoppers split by a salted hash of their id)."""
    from shoprec.experiments import lifecycle

    try:
        exp = lifecycle.start(bundle, lifecycle.new_experiment(
            name, [parse_variant(v) for v in variant], ramp,
            lifecycle.StoppingRule(min_detectable_lift=min_lift, exposures_per_variant=horizon)))
    except DataError as exc:
        fail(str(exc))
    console.print(f"experiment {exp.id} started: "
                  + ", ".join(f"{v.name} ({v.weight:g}: {v.bundle or 'serving bundle'})"
                              for v in exp.variants), soft_wrap=True)


@experiment_app.command("status")
def status(bundle: BundleArg, database_url: DatabaseUrl = None,
           exp_id: Annotated[str | None, typer.Option("--id", help="default: the running one")
                             ] = None,
           as_json: Annotated[bool, typer.Option("--json", help="print the readout as JSON")
                              ] = False) -> None:
    """Per-variant CTR, add-to-cart, conversion, revenue (95% intervals), lift, SRM and the
    stopping rule's decision, from the store."""
    from shoprec.experiments import lifecycle
    from shoprec.experiments.attribution import load_readout
    from shoprec.store import Store, url_beside_bundle

    try:
        exp = (lifecycle.find_experiment(bundle, exp_id) if exp_id
               else lifecycle.running_experiment(bundle))
        if exp is None:
            fail("no experiment runs; name a finished one with --id")
        url = database_url or os.environ.get("SHOPREC_DATABASE_URL") or url_beside_bundle(bundle)
        store = Store(url)
        try:
            result = load_readout(store.engine, exp, any(
                r.price is not None for r in store.all_items()))
        finally:
            store.close()
    except DataError as exc:
        fail(str(exc))
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    console.print(readout_table(result))


def _ci(m: dict | None) -> str:
    if not m or m.get("rate") is None:
        return "-"
    return f"{m['rate']:.2%} [{m['low']:.2%}, {m['high']:.2%}]"


def readout_table(result: dict) -> Table:
    e = result["experiment"]
    table = Table(title=f"{e['name']} ({e['id']}, {e['state']}): {result['stopping']['decision']}"
                        f"; SRM p = {result['srm']['p_value'] if result['srm']['p_value'] is None else round(result['srm']['p_value'], 4)}")
    for col in ("variant", "shoppers", "exposures", "CTR [95% CI]", "add-to-cart", "conversion",
                "lift CTR [95% CI]", "p95 ms"):
        table.add_column(col, justify="left" if col == "variant" else "right")
    for v in result["variants"]:
        lift = v["lift_ctr"]
        lifted = ("control" if lift is None else "-" if lift["lift"] is None else
                  f"{lift['lift']:+.1%} [{lift['low']:+.1%}, {lift['high']:+.1%}]"
                  if lift["low"] is not None else f"{lift['lift']:+.1%}")
        table.add_row(v["name"], str(v["shoppers"]), str(v["exposures"]), _ci(v["ctr"]),
                      _ci(v["add_to_cart"]), _ci(v["conversion"]), lifted,
                      "-" if v["p95_latency_ms"] is None else f"{v['p95_latency_ms']:.1f}")
    return table


@experiment_app.command("ramp")
def ramp(bundle: BundleArg, share: Annotated[float, typer.Argument(help="share of shoppers in "
                                                                        "the experiment (0-1]")],
         exp_id: Annotated[str | None, typer.Option("--id", help="default: the running one")
                           ] = None) -> None:
    """Let more (or fewer) shoppers in; nobody already in changes variant."""
    from shoprec.experiments import lifecycle

    try:
        running = lifecycle.running_experiment(bundle)
        exp = lifecycle.set_ramp(bundle, exp_id or (running.id if running else "none"), share)
    except DataError as exc:
        fail(str(exc))
    console.print(f"experiment {exp.id}: ramp {exp.ramp:.0%}")


@experiment_app.command("stop")
def stop(bundle: BundleArg, exp_id: Annotated[str | None, typer.Option(
        "--id", help="default: the running one")] = None) -> None:
    """End the experiment; every shopper gets the serving bundle again."""
    from shoprec.experiments import lifecycle, promotion

    try:
        running = lifecycle.running_experiment(bundle)
        exp = promotion.stop(bundle, exp_id or (running.id if running else "none"))
    except DataError as exc:
        fail(str(exc))
    console.print(f"experiment {exp.id} stopped")


@experiment_app.command("promote")
def promote(bundle: BundleArg, variant: Annotated[str, typer.Option(help="the winner")],
            exp_id: Annotated[str | None, typer.Option("--id", help="default: the running one")
                              ] = None) -> None:
    """Make VARIANT the serving bundle (a new generation: `shoprec rollback` undoes it) and end
    the experiment."""
    from shoprec.experiments import lifecycle, promotion

    try:
        running = lifecycle.running_experiment(bundle)
        exp, generation = promotion.promote(bundle, exp_id or (running.id if running else "none"),
                                            variant)
    except DataError as exc:
        fail(str(exc))
    console.print(f"experiment {exp.id}: {variant} promoted; generation {generation} serves")

