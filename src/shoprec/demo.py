"""`make demo`: prepare the default data, train, show three shoppers' top-10 (then serve)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from shoprec.bundle import load_bundle
from shoprec.models.registry import MODELS
from shoprec.recommend import recommend_for_user
from shoprec.training import train_bundle

#: Best first; the demo trains the first one that is registered.
PREFERENCE = ("itemknn", "popular")


def pick_model() -> str:
    return next(name for name in PREFERENCE if name in MODELS)


def run_demo(source: str, out: Path, console: Console, shoppers: int = 3) -> Path:
    model = pick_model()
    console.print(f"training [bold]{model}[/bold] on {source} ...")
    path = train_bundle(source, out, model)
    bundle = load_bundle(path)
    console.print(f"bundle: {path} ({bundle.manifest['users']} shoppers, "
                  f"{bundle.manifest['items']} items, trained in {bundle.manifest['train_seconds']}s)")
    titles = bundle.dataset.items["title"] if "title" in bundle.dataset.items.columns else None
    for user_id in bundle.dataset.user_map.ids[:shoppers]:
        recs = recommend_for_user(bundle, user_id, 10)
        table = Table(title=f"shopper {user_id}: top 10 ({model})")
        table.add_column("#", justify="right")
        table.add_column("title")
        table.add_column("score", justify="right")
        for n, r in enumerate(recs, 1):
            table.add_row(str(n), r["title"] or r["item_id"], f"{r['score']:.3f}")
        if titles is not None:
            from shoprec.recommend import user_history

            last = user_history(bundle, user_id).items[-3:]
            console.print("recently: " + "; ".join(str(titles[int(i)]) for i in last))
        console.print(table)
    return path
