"""`make demo`: prepare the default data, train item-kNN, show three shoppers' top-10, then let
`auto` choose the model (in the background while the shop serves, `shoprec serve
--choose-minutes`).

Why item-kNN first: `auto` needs minutes (the transformer trains for most of its budget), and
the page waited for it (300 s on Beauty). Item-kNN trains in seconds and is a member of auto's
family, so the shop serves at once and auto's choice replaces it as the bundle's next
generation, which the running server picks up without a restart.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from rich.console import Console
from rich.table import Table

from shoprec.data.errors import DataError
from shoprec.engine.opened_shop import open_shop
from shoprec.engine.recommending import recommend
from shoprec.generations import generations_dir
from shoprec.training import train_bundle

#: Minutes `auto` gets in the demo (about 5 minutes of training on 2 cores for Beauty)
DEMO_BUDGET_MINUTES = 4.0
#: What the demo serves first: trains in seconds, and auto's family holds it
FIRST_MODEL = "itemknn"


def run_demo(source: str, out: Path, console: Console, shoppers: int = 3) -> Path:
    """Train item-kNN on `source` into a fresh bundle at `out` (generations of an earlier demo
    there are removed) and show `shoppers` shoppers' top 10; returns the bundle folder."""
    clear_generations(out)
    console.print(f"training {FIRST_MODEL} on {source} (auto chooses the model next) ...")
    path = train_bundle(source, out, FIRST_MODEL)
    shop = open_shop(path)
    bundle = shop.serving.bundle
    console.print(f"bundle: {path} ({bundle.manifest['users']} shoppers, "
                  f"{bundle.manifest['items']} items, trained in {bundle.manifest['train_seconds']}s)")
    for user_id in bundle.dataset.user_map.ids[:shoppers]:
        events = shop.events(user_id)
        ranked, _ = recommend(shop.serving, events, shop.catalogue, 10)
        table = Table(title=f"shopper {user_id}: top 10 ({bundle.manifest['model']})")
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


def clear_generations(out: Path) -> None:
    """Remove the generations (and job records) of an earlier demo at `out`: the new bundle
    must serve, not the `current` link of a bundle trained before. DataError while a job of
    that demo still runs (it would publish into the new bundle's generations)."""
    from shoprec.service.retrain_job import try_lock

    root = generations_dir(out)
    if not root.is_dir():
        return
    fd = try_lock(out)
    if fd is None:
        raise DataError(f"{out}: a job of an earlier demo is still running on this bundle "
                        f"(see {root / 'jobs'}); stop it, or give another --out")
    try:
        shutil.rmtree(root)
    finally:
        os.close(fd)


def choose_here(bundle: Path, budget_minutes: float, console: Console) -> None:
    """Run the choice in this process (no shop serves to wait for it) and say what serves."""
    from shoprec.service.retrain_job import run_here
    from shoprec.service.settings import ServiceSettings

    job = run_here(bundle, ServiceSettings(), choose_minutes=budget_minutes,
                   progress=console.print)
    if job is None:
        raise DataError(f"{bundle}: a job is already running on this bundle")
    colour = "green" if job["state"] == "swapped" else "red"
    console.print(f"[{colour}]{job['state']}:[/{colour}] {job['reason']}", soft_wrap=True)
