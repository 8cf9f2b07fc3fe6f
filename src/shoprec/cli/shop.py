"""`shoprec recommend / search / explain / profile`: the shop's answers from the command line.

Each is a thin caller of `shoprec.engine`, the core the HTTP service uses too: the same
shopper state (the store's fresh events when the shop has a store), the same filters and hide
rules, the same list.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from shoprec.cli.common import AsJson, BundleArg, DatabaseUrl, app, console, fail, opened_shop
from shoprec.data.errors import DataError

UserOpt = Annotated[str, typer.Option(help="shopper id")]
Category = Annotated[str | None, typer.Option(
    help="only this category, or one level of a category path (any case)")]
Brand = Annotated[str | None, typer.Option(help="only this brand (any case)")]
MinPrice = Annotated[float | None, typer.Option(help="only items at or above this price")]
MaxPrice = Annotated[float | None, typer.Option(help="only items at or below this price")]
Exclude = Annotated[list[str] | None, typer.Option(help="an item id never to show (repeatable)")]
ItemType = Annotated[str | None, typer.Option(
    "--type", help="only items of this type: product, article, video or ad")]


def _filters(category: str | None, brand: str | None, min_price: float | None,
             max_price: float | None, exclude: list[str] | None, item_type: str | None = None):
    from shoprec.engine.rules import Filters

    try:
        return Filters(category, brand, min_price, max_price, tuple(exclude or ()), item_type)
    except DataError as exc:
        fail(str(exc))


def _print_items(shop, ranked, title: str, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps([{"item_id": r.item_id, "score": r.score, "reason": r.reason}
                               for r in ranked]))
        return
    table = Table(title=title)
    for col in ("#", "item", "title", "score"):
        table.add_column(col, justify="right" if col in ("#", "score") else "left")
    for n, r in enumerate(ranked, 1):
        record = shop.catalogue.get(r.item_id)
        table.add_row(str(n), r.item_id, (record.title if record else None) or "", f"{r.score:.4f}")
    console.print(table)


@app.command()
def recommend(
    bundle: BundleArg, user: UserOpt,
    k: Annotated[int, typer.Option(help="how many items")] = 10,
    category: Category = None, brand: Brand = None, min_price: MinPrice = None,
    max_price: MaxPrice = None, exclude: Exclude = None, database_url: DatabaseUrl = None,
    as_json: AsJson = False, item_type: ItemType = None,
) -> None:
    """The shopper's top-k items, as the service would answer now."""
    from shoprec.engine.recommending import recommend as engine_recommend

    filters = _filters(category, brand, min_price, max_price, exclude, item_type)
    with opened_shop(bundle, database_url) as shop:
        ranked, strategy = engine_recommend(shop.serving, shop.events(user), shop.catalogue, k,
                                            filters)
        model = shop.serving.bundle.manifest["model"]
        _print_items(shop, ranked, f"top {k} for shopper {user} ({model}, {strategy})", as_json)


@app.command()
def search(
    bundle: BundleArg,
    query: Annotated[str, typer.Argument(help='what the shopper wants, e.g. "red nail polish"')],
    user: Annotated[str | None, typer.Option(help="shopper id: personalise by their history")] = None,
    k: Annotated[int, typer.Option(help="how many items")] = 10,
    category: Category = None, brand: Brand = None, min_price: MinPrice = None,
    max_price: MaxPrice = None, exclude: Exclude = None, database_url: DatabaseUrl = None,
    as_json: AsJson = False, item_type: ItemType = None,
) -> None:
    """Natural-language search over the catalogue (the language model reads the query)."""
    from shoprec.engine.recommending import shopper_state

    filters = _filters(category, brand, min_price, max_price, exclude, item_type)
    with opened_shop(bundle, database_url) as shop:
        serving = shop.serving
        history = (shopper_state(serving, shop.events(user), shop.catalogue).history
                   if user else None)
        ranked = serving.searcher.search(query, k, serving.item_ids, serving.item_index,
                                         shop.catalogue, history, filters)
        who = f" for shopper {user}" if user else ""
        _print_items(shop, ranked, f'search "{query}"{who}', as_json)


@app.command()
def explain(
    bundle: BundleArg, user: UserOpt,
    k: Annotated[int, typer.Option(help="how many items")] = 5,
    database_url: DatabaseUrl = None, as_json: AsJson = False,
) -> None:
    """The shopper's top-k items (as `recommend` gives them), each with every reason and the
    number behind it."""
    from shoprec.engine.recommending import recommend as engine_recommend
    from shoprec.engine.recommending import shopper_state

    with opened_shop(bundle, database_url) as shop:
        serving = shop.serving
        events = shop.events(user)
        ranked, strategy = engine_recommend(serving, events, shop.catalogue, k, explain=True)
        if as_json:
            _print_items(shop, ranked, "", True)
            return
        state = shopper_state(serving, events, shop.catalogue)
        detail = serving.insight.explanations(
            state.history, [serving.item_index[r.item_id] for r in ranked], state.bundle_user)
        table = Table(title=f"top {k} for shopper {user} ({serving.bundle.manifest['model']}, "
                            f"{strategy}), with reasons")
        for col in ("#", "title", "score", "reasons (weight)"):
            table.add_column(col, justify="right" if col in ("#", "score") else "left")
        for n, (r, rs) in enumerate(zip(ranked, detail), 1):
            record = shop.catalogue.get(r.item_id)
            why = "\n".join(f"{x.text} ({x.weight:.3g})" for x in rs) or (r.reason or "-")
            table.add_row(str(n), (record.title if record else None) or r.item_id,
                          f"{r.score:.4f}", why)
        console.print(table)


@app.command()
def profile(
    bundle: BundleArg, user: UserOpt,
    top: Annotated[int, typer.Option(help="how many interest tags")] = 10,
    half_life_days: Annotated[float, typer.Option(help="days after which an event counts half")] = 180.0,
    now: Annotated[int | None, typer.Option(help="Unix time of the profile (default: the bundle's last event)")] = None,
    database_url: DatabaseUrl = None,
    as_json: AsJson = False,
) -> None:
    """A shopper's interest tags with weights, price band and activity level."""
    import time

    from shoprec.engine.shopper_profile import interest_profile

    with opened_shop(bundle, database_url) as shop:
        last = shop.serving.bundle.dataset.interactions["timestamp"].max()
        body = interest_profile(shop.serving, shop.catalogue, user, shop.events(user),
                                now if now is not None else int(last or 0), half_life_days, top)
    if as_json:
        console.print_json(json.dumps(body))
        return
    table = Table(title=f"interests of shopper {user} (half-life {half_life_days:g} days)")
    table.add_column("tag")
    table.add_column("kind")
    table.add_column("weight", justify="right")
    for t in body["tags"]:
        table.add_row(t["tag"], t["kind"], f"{t['weight']:.3f}")
    console.print(table)
    band = body["price_band"]
    console.print("price band: " + (f"{band['band']} (mean price {band['mean_price']:.2f})"
                                    if band else "unknown (the catalogue has no prices)"))
    act = body["activity"]
    day = lambda t: time.strftime("%Y-%m-%d", time.gmtime(t))
    console.print(f"activity: {act['level']} — {act['events']} events "
                  f"({act['recent_events']:.2f} after decay to {day(body['as_of'])}), "
                  f"first {day(act['first_seen'])}, last {day(act['last_seen'])}")
