"""How long `DELETE /users/{id}` takes to forget a shopper completely, on the full Beauty data.

Data: Amazon Beauty 2014 5-core (22,363 shoppers, 12,101 items, 198,502 interactions). For each
model, a bundle is trained on all of it and served in-process (FastAPI's TestClient over the real
app, SQLite store beside the bundle); then real shoppers are deleted one after another. Each
DELETE answers only after the store rows are gone (SQLite log checkpointed), the bundle's
interaction file and manifest are rewritten, the model has forgotten them (item-kNN refit,
user-kNN rows dropped; ALS keeps its item factors until the next retrain) and popularity and
co-occurrence are recomputed. After each, the bundle is searched for the id
(`shoprec.privacy.find_user_traces`) and the store counted.

    SHOPREC_DATA_DIR=../shared/data .venv/bin/python benchmarks/deletion.py

Writes benchmarks/results/deletion.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import time
from pathlib import Path

from fastapi.testclient import TestClient
from rich.console import Console
from rich.table import Table

from shoprec.bundle import write_bundle
from shoprec.data.sources import load_dataset
from shoprec.data.splits import full_train
from shoprec.models.registry import get_spec
from shoprec.privacy.traces import find_user_traces
from shoprec.service.app import create_app
from shoprec.service.settings import ServiceSettings

RESULTS = Path("benchmarks/results")
KEY = "bench-key"


def measure(model: str, ds, work: Path, shoppers: int) -> dict:
    spec = get_spec(model)
    params = spec.candidates()[0] if spec.grid else {}
    start = time.perf_counter()
    bundle = write_bundle(work / model / "bundle", ds, spec.build(**params).fit(full_train(ds)))
    train_s = time.perf_counter() - start
    settings = ServiceSettings(database_url=f"sqlite:///{work / model / 'store.sqlite'}",
                               api_key=KEY, seed_store=True)
    app = create_app(bundle, settings)
    users = [str(u) for u in ds.user_map.ids[100 : 100 + shoppers]]
    seconds, leftovers = [], 0
    with TestClient(app) as client:
        for user in users:
            start = time.perf_counter()
            r = client.delete(f"/users/{user}", headers={"X-API-Key": KEY})
            seconds.append(time.perf_counter() - start)
            assert r.status_code == 200 and r.json()["removed_from_model"], r.text
            leftovers += len(find_user_traces(bundle, user)) + app.state.ctx.store.count_events(user)
    return {"model": model, "train_seconds": round(train_s, 1), "deleted": len(users),
            "delete_seconds_median": round(statistics.median(seconds), 3),
            "delete_seconds_max": round(max(seconds), 3), "traces_left": leftovers,
            "model_forgets_exactly": hasattr(app.state.ctx.serving.bundle.model, "forget_users")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="itemknn,userknn,als")
    parser.add_argument("--shoppers", type=int, default=5)
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    ds = load_dataset("amazon-beauty")
    work = Path("artifacts/deletion")
    shutil.rmtree(work, ignore_errors=True)
    rows = [measure(m, ds, work, args.shoppers) for m in args.models.split(",")]
    table = Table(title=f"DELETE /users/{{id}} on full Beauty ({ds.n_users} shoppers)")
    for col in rows[0]:
        table.add_column(col)
    for row in rows:
        table.add_row(*[str(v) for v in row.values()])
    Console().print(table)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = {"data": "amazon-beauty (full)", "machine": f"{platform.machine()}, {os.cpu_count()} cores",
           "command": "SHOPREC_DATA_DIR=../shared/data .venv/bin/python benchmarks/deletion.py",
           "load_average_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
           "rows": rows}
    (RESULTS / "deletion.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
