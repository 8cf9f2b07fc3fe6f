"""How long `DELETE /users/{id}` takes to forget a shopper completely, on the full Beauty data.

Data: Amazon Beauty 2014 5-core (22,363 shoppers, 12,101 items, 198,502 interactions). For each
model, a bundle is trained on all of it and served in-process (FastAPI's TestClient over the real
app, SQLite store beside the bundle); then real shoppers are deleted one after another. Each
DELETE answers only after the store rows are gone (SQLite log checkpointed), the bundle's
interaction file and manifest are rewritten, the model has forgotten them (item-kNN refit,
user-kNN rows dropped; ALS keeps its item factors until the next retrain) and popularity and
co-occurrence are recomputed. After each, the bundle is searched for the id
(`shoprec.privacy.find_user_traces`), the store counted, and the store's files (database, WAL,
SHM) searched byte for byte: the deleted shoppers get long ids (Beauty's are short numbers that
any file contains by chance), and 2,000 shoppers more, with long ids too, send events through
the API first, so the store's index pages split as a live shop's do.

Each model runs twice in the same run: `checkpoint` is what DELETE did before issue 24 (the
write-ahead log checkpointed and truncated, secure_delete on), `vacuum` what it does now
(`store.engine.erase_freed_bytes`: VACUUM, then the checkpoint); the time of the rewrite alone
is reported too.

    SHOPREC_DATA_DIR=../shared/data .venv/bin/python benchmarks/deletion.py

Writes benchmarks/results/deletion.json.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import time
from pathlib import Path

import polars as pl
from _common import machine, write_result
from fastapi.testclient import TestClient
from rich.console import Console
from rich.table import Table

from shoprec.bundle import write_bundle
from shoprec.data.dataset import build_dataset
from shoprec.data.sources import load_dataset
from shoprec.data.splits import full_train
from shoprec.models.registry import get_spec
from shoprec.privacy.traces import find_user_traces
from shoprec.service.app import create_app
from shoprec.service.settings import ServiceSettings
from shoprec.store import store as store_module
from shoprec.store.engine import checkpoint, erase_freed_bytes

RESULTS = Path("benchmarks/results")
KEY = "bench-key"


def with_long_ids(ds, shoppers: int) -> tuple[object, list[str]]:
    """The data set with `shoppers` real shoppers renamed to long ids (found byte for byte)."""
    rng = random.Random(24)
    chosen = [str(u) for u in ds.user_map.ids[100 : 100 + shoppers]]
    names = {u: f"{rng.getrandbits(40):010x}-deleted-{n:03d}" for n, u in enumerate(chosen)}
    inter = ds.interactions.drop("user", "item").with_columns(
        pl.col("user_id").replace(names))
    return build_dataset(ds.items, inter, name=ds.name), list(names.values())


def live_traffic(client: TestClient, ds, shoppers: int = 2_000, each: int = 10) -> None:
    """Events of `shoppers` long-id shoppers, shuffled, through POST /events in batches of 100."""
    rng = random.Random(7)
    items = [str(i) for i in ds.item_map.ids]
    users = [f"{rng.getrandbits(40):010x}-live-{n:04d}" for n in range(shoppers)]
    events = [{"user_id": u, "item_id": rng.choice(items), "event": "view",
               "event_id": f"{u}-{k}"} for u in users for k in range(each)]
    rng.shuffle(events)
    for lo in range(0, len(events), 100):
        r = client.post("/events", json={"events": events[lo : lo + 100]},
                        headers={"X-API-Key": KEY})
        assert r.status_code == 200, r.text


def store_bytes_left(store_path: Path, users: list[str]) -> int:
    data = b"".join(p.read_bytes() for p in store_path.parent.glob(store_path.name + "*"))
    return sum(u.encode() in data for u in users)


def measure(model: str, ds, users: list[str], work: Path, erase: str) -> dict:
    spec = get_spec(model)
    params = spec.candidates()[0] if spec.grid else {}
    start = time.perf_counter()
    folder = work / f"{model}-{erase}"
    bundle = write_bundle(folder / "bundle", ds, spec.build(**params).fit(full_train(ds)))
    train_s = time.perf_counter() - start
    db = folder / "store.sqlite"
    settings = ServiceSettings(database_url=f"sqlite:///{db}", api_key=KEY, seed_store=True)
    app = create_app(bundle, settings)
    erased = []

    def timed_erase(engine) -> bool:
        begin = time.perf_counter()
        done = erase_freed_bytes(engine) if erase == "vacuum" else checkpoint(engine)
        erased.append(time.perf_counter() - begin)
        return done

    store_module.erase_freed_bytes = timed_erase
    seconds, leftovers = [], 0
    try:
        with TestClient(app) as client:
            live_traffic(client, ds)
            for user in users:
                start = time.perf_counter()
                r = client.delete(f"/users/{user}", headers={"X-API-Key": KEY})
                seconds.append(time.perf_counter() - start)
                assert r.status_code == 200 and r.json()["removed_from_model"], r.text
                leftovers += (len(find_user_traces(bundle, user))
                              + app.state.ctx.store.count_events(user))
    finally:
        store_module.erase_freed_bytes = erase_freed_bytes
    return {"model": model, "erase": erase, "train_seconds": round(train_s, 1),
            "deleted": len(users), "store_mb": round(db.stat().st_size / 2**20, 1),
            "delete_seconds_median": round(statistics.median(seconds), 3),
            "delete_seconds_max": round(max(seconds), 3),
            "erase_seconds_median": round(statistics.median(erased), 3),
            "bundle_or_rows_left": leftovers, "store_ids_left": store_bytes_left(db, users),
            "model_forgets_exactly": hasattr(app.state.ctx.serving.bundle.model, "forget_users")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="itemknn,userknn,als")
    parser.add_argument("--shoppers", type=int, default=10)
    args = parser.parse_args()
    load_before = os.getloadavg()
    ds, users = with_long_ids(load_dataset("amazon-beauty"), args.shoppers)
    work = Path("artifacts/deletion")
    shutil.rmtree(work, ignore_errors=True)
    rows = [measure(m, ds, users, work, erase) for m in args.models.split(",")
            for erase in ("checkpoint", "vacuum")]
    shutil.rmtree(work, ignore_errors=True)
    table = Table(title=f"DELETE /users/{{id}} on full Beauty ({ds.n_users} shoppers)")
    for col in rows[0]:
        table.add_column(col)
    for row in rows:
        table.add_row(*[str(v) for v in row.values()])
    Console(width=200).print(table)
    out = {"data": "amazon-beauty (full)", "machine": machine(load_before),
           "command": "SHOPREC_DATA_DIR=../shared/data .venv/bin/python benchmarks/deletion.py",
           "rows": rows}
    write_result("deletion.json", out)


if __name__ == "__main__":
    main()
