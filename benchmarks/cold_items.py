"""Cold items through the API: items nobody has bought yet, posted with `POST /items`, and how
often `/recommendations` puts the one a shopper buys next in their top 10.

Protocol, per data set: the items that appear last in time (the latest `--cold-share` of items by
their first interaction; on a set without timestamps, a seeded random share, said so in the
output) are held out entirely: they and every interaction with them leave the training data and
the bundle's catalogue. Each served model type is trained on the rest as `shoprec train` trains it
(default parameters; the transformer with a short time budget), written as a bundle and served
(the real FastAPI app in-process, SQLite store seeded from the bundle). The held-out items are
then posted through `POST /items` with the fields the catalogue has (title, brand, category,
description), and every shopper whose last interaction is a held-out item (and who has a trained
item before it) asks `GET /recommendations/{id}?k=10`: their history in the store is exactly their
trained items. Recall@10 is the share of those shoppers whose held-out item is in the ten; NDCG@10
weighs it by position. Content (text only) is the reference: it ranks items purely by their text.

The transformer bundle is also served with `new_item_ids="zero"` (the same weights; a new item
gets no borrowed id vector, only its projected text) to show what the borrowing adds.

Development (`--development`, Beauty): how many trained items lend a new item their id vector
(`shoprec.models.sasrec_items`) was chosen here, not on the test shoppers: the test's cold
items are removed from the data altogether, a seeded random 5% of the other items is held out
the same way, and the transformer is scored in-process (no API) for the shoppers whose last item
is one of those, with 0, 1, 3 and 10 lenders, beside content.

    SHOPREC_DATA_DIR=../shared/data nice -n 10 .venv/bin/python benchmarks/cold_items.py \\
        --datasets amazon-beauty amazon-office --minutes 4

Writes benchmarks/results/cold_items.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
from _common import machine, write_result
from fastapi.testclient import TestClient
from rich.console import Console
from rich.table import Table

from shoprec.bundle import write_bundle
from shoprec.data.dataset import Dataset, build_dataset
from shoprec.data.sources import load_dataset
from shoprec.data.splits import full_train
from shoprec.data.types import History, TrainData
from shoprec.models.ease import EASE
from shoprec.models.hybrid import Hybrid
from shoprec.models.itemknn import ItemKNN
from shoprec.models.registry import get_spec
from shoprec.models.training_loop import last_item_validation
from shoprec.service.app import create_app
from shoprec.service.settings import ServiceSettings

RESULTS = Path("benchmarks/results")
KEY = "bench-key"
K = 10
#: item fields `POST /items` takes as fields; other text columns go as attributes
ITEM_FIELDS = ("title", "category", "brand")
POST_BATCH = 100
ATTRIBUTE_CHARS = 1000


def cold_items(ds: Dataset, share: float, seed: int) -> tuple[set[str], str]:
    """The held-out item ids and how they were chosen."""
    inter = ds.interactions
    n = max(1, round(share * ds.n_items))
    if inter["timestamp"].null_count() == 0:
        first = inter.group_by("item_id").agg(pl.col("timestamp").min().alias("first"))
        latest = first.sort(["first", "item_id"], descending=[True, False]).head(n)
        return set(latest["item_id"].to_list()), f"the {n} items first bought last in time"
    rng = np.random.default_rng(seed)
    ids = ds.items["item_id"].to_list()
    picked = rng.choice(len(ids), n, replace=False)
    return {ids[i] for i in picked}, f"{n} items drawn at random (seed {seed}; no timestamps)"


def split_cold(ds: Dataset, cold: set[str]) -> tuple[Dataset, pl.DataFrame, dict[str, str]]:
    """(the training data set without the cold items, their catalogue rows, each evaluated
    shopper's held-out target): shoppers whose last interaction is cold and who keep at least one
    trained item."""
    inter = ds.interactions.drop("user", "item")
    is_cold = pl.col("item_id").is_in(list(cold))
    ordered = inter.with_row_index("row").sort(["user_id", "timestamp", "row"], nulls_last=False)
    last = ordered.group_by("user_id", maintain_order=True).last()
    warm = inter.filter(~is_cold)
    kept_users = set(warm["user_id"].unique().to_list())
    targets = {u: i for u, i in zip(last["user_id"].to_list(), last["item_id"].to_list())
               if i in cold and u in kept_users}
    items = ds.items.filter(~is_cold)
    train = build_dataset(items, warm, name=f"{ds.name}-warm", event_weights=ds.event_weights)
    return train, ds.items.filter(is_cold), targets


def train_models(ds: Dataset, names: list[str], minutes: float, seed: int) -> dict[str, tuple]:
    """name -> (model, training seconds), each as `shoprec train` fits it (default parameters).
    The blend reuses the transformer: its own fit would train one exactly like it (the same
    held-out last items for early stopping, the same seed), so training it twice is skipped."""
    full = full_train(ds)
    out: dict[str, tuple] = {}
    sasrec_params = {**get_spec("sasrec").candidates()[0], "max_minutes": minutes, "seed": seed,
                     "progress": False}
    for name in names:
        start = time.perf_counter()
        if name == "sasrec":
            model = get_spec("sasrec").build(**sasrec_params).fit(full)
        elif name == "hybrid":
            sasrec = out["sasrec"][0] if "sasrec" in out else \
                get_spec("sasrec").build(**sasrec_params).fit(full)
            kept, valid = last_item_validation(full.histories)
            train = TrainData([History(h) for h in kept], full.n_items, full.items)
            parts = {"sasrec": sasrec, "itemknn": ItemKNN().fit(train), "ease": EASE().fit(train)}
            model = Hybrid.from_fitted(parts, valid).refit_cheap_parts(full)
        else:
            spec = get_spec(name)
            model = spec.build(**(spec.candidates()[0] if spec.grid else {})).fit(full)
        out[name] = (model, time.perf_counter() - start)
    return out


def item_payload(rows: pl.DataFrame) -> list[dict]:
    out = []
    for row in rows.to_dicts():
        item = {"item_id": row["item_id"]}
        for name, value in row.items():
            if name == "item_id" or value is None or value == "":
                continue
            if name in ITEM_FIELDS:
                item[name] = str(value)[:200 if name != "title" else 1000]
            elif isinstance(value, str | int | float | bool) and name != "asin":
                # the API keeps attributes to 1,000 characters; an item's text reads 300 of one
                value = value[:ATTRIBUTE_CHARS] if isinstance(value, str) else value
                item.setdefault("attributes", {})[name] = value
        out.append(item)
    return out


def serve_and_measure(bundle: Path, work: Path, cold_rows: pl.DataFrame,
                      targets: dict[str, str]) -> dict:
    settings = ServiceSettings(database_url=f"sqlite:///{work / 'store.sqlite'}", api_key=KEY,
                               seed_store=True, search_warmup=False)
    app = create_app(bundle, settings)
    payload = item_payload(cold_rows)
    hits, ndcg, cold_shown, post_s = 0, 0.0, 0, 0.0
    with TestClient(app) as client:
        added = 0
        for lo in range(0, len(payload), POST_BATCH):
            start = time.perf_counter()
            r = client.post("/items", headers={"X-API-Key": KEY},
                            json={"items": payload[lo:lo + POST_BATCH]})
            post_s += time.perf_counter() - start
            assert r.status_code == 200, r.text
            added += len(r.json()["recommendable"])
        cold = set(cold_rows["item_id"].to_list())
        for user, target in targets.items():
            r = client.get(f"/recommendations/{user}", params={"k": K})
            assert r.status_code == 200, r.text
            shown = [i["item_id"] for i in r.json()["items"]]
            cold_shown += sum(i in cold for i in shown)
            if target in shown:
                hits += 1
                ndcg += 1.0 / math.log2(shown.index(target) + 2)
    n = max(len(targets), 1)
    return {"recommendable": added, "recall@10": round(hits / n, 4),
            "ndcg@10": round(ndcg / n, 4), "cold_share_of_top10": round(cold_shown / (K * n), 4),
            "post_items_seconds": round(post_s, 2)}


def zero_borrowing_copy(bundle: Path, out: Path) -> Path | None:
    """The bundle with its transformer's `new_item_ids` set to "zero" (same weights)."""
    shutil.copytree(bundle, out)
    changed = False
    for header in out.rglob("model.json"):
        spec = json.loads(header.read_text())
        if "new_item_ids" in spec.get("config", {}):
            spec["config"]["new_item_ids"] = "zero"
            header.write_text(json.dumps(spec, indent=2))
            changed = True
    return out if changed else None


def run(name: str, args: argparse.Namespace, work: Path) -> tuple[list[dict], str]:
    ds = load_dataset(name)
    cold, how = cold_items(ds, args.cold_share, args.seed)
    train, cold_rows, targets = split_cold(ds, cold)
    if args.users and len(targets) > args.users:
        rng = np.random.default_rng(args.seed)
        keep = rng.choice(sorted(targets), args.users, replace=False)
        targets = {u: targets[u] for u in sorted(keep)}
    print(f"{name}: {how}; {train.n_items} items trained, {len(targets)} shoppers whose next "
          f"item is cold", flush=True)
    models = train_models(train, args.models, args.minutes, args.seed)
    rows = []
    for model_name, (model, seconds) in models.items():
        bundle = write_bundle(work / name / model_name / "bundle", train, model)
        variants = [(model_name, bundle)]
        zero = zero_borrowing_copy(bundle, work / name / model_name / "bundle-zero")
        if zero is not None:
            variants.append((f"{model_name} (new ids zero)", zero))
        for label, path in variants:
            folder = path.parent / f"serve-{path.name}"
            folder.mkdir(parents=True, exist_ok=True)
            measured = serve_and_measure(path, folder, cold_rows, targets)
            rows.append({"data": name, "model": label, "cold_items": len(cold),
                         "shoppers": len(targets), "train_seconds": round(seconds, 1),
                         **measured})
            print(rows[-1], flush=True)
    return rows, how


def development(name: str, args: argparse.Namespace) -> list[dict]:
    """Cold Recall@10 / NDCG@10 on the development split (see the module doc), model level."""
    from shoprec.models.content import ContentModel
    from shoprec.models.ranking import top_k
    from shoprec.models.sasrec_items import add_text_items

    ds = load_dataset(name)
    test_cold, _ = cold_items(ds, args.cold_share, args.seed)
    gone = pl.col("item_id").is_in(list(test_cold))
    ds = build_dataset(ds.items.filter(~gone), ds.interactions.drop("user", "item").filter(~gone),
                       name=f"{name}-development", event_weights=ds.event_weights)
    rng = np.random.default_rng(args.seed + 1)
    ids = ds.items["item_id"].to_list()
    dev_cold = {ids[i] for i in rng.choice(len(ids), round(args.cold_share * len(ids)), False)}
    train, cold_rows, targets = split_cold(ds, dev_cold)
    full = full_train(train)
    row_of = {u: n for n, u in enumerate(train.user_map.ids)}
    users = sorted(targets)
    histories = [full.histories[row_of[u]] for u in users]
    (sasrec, seconds), = train_models(train, ["sasrec"], args.minutes, args.seed).values()

    def measure(model, start: int) -> dict:
        place = {i: start + n for n, i in enumerate(cold_rows["item_id"].to_list())}
        hits, ndcg = 0, 0.0
        for lo in range(0, len(users), 512):
            batch = histories[lo:lo + 512]
            idx, _ = top_k(model.score(batch), K, batch)
            for row, user in zip(idx.tolist(), users[lo:lo + 512]):
                if place[targets[user]] in row:
                    hits += 1
                    ndcg += 1.0 / math.log2(row.index(place[targets[user]]) + 2)
        return {"recall@10": round(hits / len(users), 4), "ndcg@10": round(ndcg / len(users), 4)}

    content = ContentModel().fit(full)
    rows = [{"model": "content", "shoppers": len(users),
             **measure(content, int(content.add_items_from_text(cold_rows)[0]))}]
    folder = Path("artifacts/cold_items/development")
    sasrec.save(folder)
    text = sasrec._encode(cold_rows)
    for lenders in (0, 1, 3, 10):
        model = type(sasrec).load(folder)
        start = int(add_text_items(model.net_, text, lenders)[0])
        rows.append({"model": f"sasrec, {lenders} lenders", "shoppers": len(users),
                     "train_seconds": round(seconds, 1), **measure(model, start)})
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["amazon-beauty"])
    parser.add_argument("--models", nargs="+", default=["content", "sasrec", "hybrid"])
    parser.add_argument("--cold-share", type=float, default=0.05)
    parser.add_argument("--minutes", type=float, default=4.0,
                        help="the transformer's training budget (max_minutes)")
    parser.add_argument("--users", type=int, default=0, help="evaluated shoppers (0 = all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--development", action="store_true",
                        help="also run the development split that chose the lenders (Beauty)")
    parser.add_argument("--out", type=Path, default=RESULTS / "cold_items.json")
    args = parser.parse_args()
    load_before = os.getloadavg()
    work = Path("artifacts/cold_items")
    shutil.rmtree(work, ignore_errors=True)
    started = time.perf_counter()
    rows, chosen = [], {}
    dev = development("amazon-beauty", args) if args.development else None
    for name in args.datasets:
        found, how = run(name, args, work)
        rows += found
        chosen[name] = how
    table = Table(title=f"Cold items through POST /items and /recommendations (k={K})")
    for col in ("data", "model", "shoppers", "recall@10", "ndcg@10", "cold_share_of_top10",
                "train_seconds"):
        table.add_column(col)
    for row in rows:
        table.add_row(*[str(row[c]) for c in ("data", "model", "shoppers", "recall@10",
                                              "ndcg@10", "cold_share_of_top10", "train_seconds")])
    Console().print(table)
    out = {"data": {n: f"{n} (full); held out: {h}" for n, h in chosen.items()},
           "machine": machine(load_before),
           "command": "SHOPREC_DATA_DIR=../shared/data .venv/bin/python benchmarks/cold_items.py "
                      + " ".join(sys.argv[1:]),
           "seconds": round(time.perf_counter() - started, 1), "k": K, "rows": rows}
    if dev is not None:
        out["development"] = {"data": "amazon-beauty without the test's cold items; held out: a "
                                      f"random {args.cold_share:.0%} of the rest (seed "
                                      f"{args.seed + 1}); scored in-process", "rows": dev}
    write_result(args.out, out)


if __name__ == "__main__":
    main()
