"""`make demo`: prepare the default data, train, show three shoppers' top-10 (then serve)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from shoprec.data.errors import DataError
from shoprec.data.sources import load_dataset
from shoprec.engine.local import open_shop
from shoprec.engine.recommending import recommend
from shoprec.training import train_auto, train_bundle

#: Minutes `--model auto` gets in the demo (about 5 minutes of training on 2 cores for Beauty)
DEMO_BUDGET_MINUTES = 4.0
#: validation shoppers the demo's blend weights are searched on (all 22k take about a minute)
DEMO_BLEND_SHOPPERS = 5_000
#: What the demo serves when the choice cannot run (no text, an encoder that fails to load)
FALLBACK = "itemknn"


def run_demo(source: str, out: Path, console: Console, shoppers: int = 3,
             budget_minutes: float = DEMO_BUDGET_MINUTES) -> Path:
    """Train the language-model-driven family within a short budget and keep the best on
    validation (`--model auto` with each model at its defaults); item-kNN only if that fails."""
    from shoprec.evaluation.auto import quick_family

    console.print(f"choosing a model for {source} within {budget_minutes:g} minutes "
                  "(item-kNN, EASE, the text-aware transformer and their blend) ...")
    try:
        path = train_auto(load_dataset(source), out, budget_minutes, quick_family(),
                          progress=console.print, blend_shoppers=DEMO_BLEND_SHOPPERS)
    except (ValueError, RuntimeError, OSError) as exc:
        if isinstance(exc, DataError):
            raise
        console.print(f"[yellow]auto failed ({exc}); serving {FALLBACK} instead[/yellow]")
        path = train_bundle(source, out, FALLBACK)
    shop = open_shop(path)
    bundle = shop.serving.bundle
    model = bundle.manifest.get("selection", {}).get("chosen", bundle.manifest["model"])
    console.print(f"bundle: {path} ({bundle.manifest['users']} shoppers, "
                  f"{bundle.manifest['items']} items, trained in {bundle.manifest['train_seconds']}s)")
    for user_id in bundle.dataset.user_map.ids[:shoppers]:
        events = shop.events(user_id)
        ranked, _ = recommend(shop.serving, events, shop.catalogue, 10)
        table = Table(title=f"shopper {user_id}: top 10 ({model})")
        table.add_column("#", justify="right")
        table.add_column("title")
        table.add_column("score", justify="right")
        for n, r in enumerate(ranked, 1):
            record = shop.catalogue.get(r.item_id)
            table.add_row(str(n), (record.title if record else None) or r.item_id,
                          f"{r.score:.3f}")
        recent = [shop.catalogue.get(e.item_id) for e in events[-3:]]
        console.print("recently: " + "; ".join(str(r.title if r else "?") for r in recent))
        console.print(table)
    shop.close()
    return path
