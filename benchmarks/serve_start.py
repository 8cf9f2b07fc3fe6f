"""How long `shoprec serve --workers N` takes from the command to every worker answering /health,
for this checkout's code and (with `--before SRC`) another source tree, alternated in one run.

The bundle is item-kNN over the first 2,000 Amazon Beauty shoppers (the service tests' slice),
served on a fresh SQLite store seeded from it, search warm-up off (a test server's settings):
what the suite's `--workers 2` half pays for every server it starts. `--before` names the `src/`
folder of an older checkout (e.g. a `git worktree` at the commit before a change); each round
starts the old code, then this one, so both see the same machine.

    SHOPREC_DATA_DIR=../shared/data .venv/bin/python benchmarks/serve_start.py \\
        --before OLD_TREE/src --rounds 5

Writes benchmarks/results/serve_start.json.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import polars as pl
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, write_result

EXE = Path(sys.executable).with_name("shoprec")


def slice_bundle(out: Path) -> Path:
    """Item-kNN over Beauty's first 2,000 shoppers, as tests/service/conftest.py builds it."""
    from shoprec.bundle import write_bundle
    from shoprec.data.dataset import build_dataset
    from shoprec.data.sources import load_dataset
    from shoprec.data.splits import full_train
    from shoprec.models.registry import get_spec

    beauty = load_dataset("amazon-beauty")
    inter = beauty.interactions.filter(pl.col("user") < 2000).drop("user", "item")
    items = beauty.items.join(inter.select("item_id").unique(), on="item_id", how="semi")
    ds = build_dataset(items, inter, name="beauty-slice")
    spec = get_spec("itemknn")
    return write_bundle(out, ds, spec.build(**spec.candidates()[0]).fit(full_train(ds)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_seconds(bundle: Path, workers: int, src: str | None) -> float:
    """Seconds until `workers` distinct pids answer /health (then SIGTERM and wait)."""
    port, store = free_port(), tempfile.mkdtemp()
    env = dict(os.environ, SHOPREC_DATABASE_URL=f"sqlite:///{store}/store.db",
               SHOPREC_SEARCH_WARMUP="0", SHOPREC_SEED_STORE="true")
    if src:
        env["PYTHONPATH"] = src
    t0 = time.monotonic()
    proc = subprocess.Popen([str(EXE), "serve", str(bundle), "--port", str(port),
                             "--workers", str(workers)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    pids: set[int] = set()
    try:
        while len(pids) < workers:
            if proc.poll() is not None or time.monotonic() - t0 > 180:
                raise RuntimeError(f"shoprec serve ({src or 'this checkout'}) did not come up")
            try:
                pids.add(httpx.get(f"http://127.0.0.1:{port}/health", timeout=5,
                                   headers={"Connection": "close"}).json()["pid"])
            except httpx.HTTPError:
                time.sleep(0.05)
        return time.monotonic() - t0
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)


def tree_state(src: str) -> dict[str, object]:
    """The commit a source tree is at and whether it has uncommitted changes (not its path,
    which names only this machine)."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", src, *args], capture_output=True, text=True,
                              check=False).stdout
    return {"commit": git("rev-parse", "HEAD").strip() or None,
            "uncommitted_changes": bool(git("status", "--porcelain", "--untracked-files=no"))}




def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--before", help="src/ folder of the code to compare against")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    load = os.getloadavg()
    here = str(Path(__file__).resolve().parents[1] / "src")
    variants = ([("before", args.before)] if args.before else []) + [("this checkout", here)]
    with tempfile.TemporaryDirectory() as tmp:
        bundle = slice_bundle(Path(tmp) / "bundle")
        start_seconds(bundle, args.workers, here)  # warm the page cache; not counted
        times: dict[str, list[float]] = {name: [] for name, _ in variants}
        for _ in range(args.rounds):
            for name, src in variants:
                times[name].append(round(start_seconds(bundle, args.workers, src), 2))
    table = Table(title=f"shoprec serve --workers {args.workers}: seconds until every worker "
                        "answers")
    for col in ("code", "median", "min", "max", "runs"):
        table.add_column(col)
    for name, ts in times.items():
        table.add_row(name, f"{statistics.median(ts):.2f}", f"{min(ts):.2f}", f"{max(ts):.2f}",
                      " ".join(f"{t:.2f}" for t in ts))
    Console().print(table)
    write_result("serve_start.json", {
        "data": "amazon-beauty, first 2,000 shoppers; item-kNN bundle; SQLite store seeded",
        "command": "python benchmarks/serve_start.py" + (" --before OLD_TREE/src" if args.before
                                                         else "")
                   + f" --rounds {args.rounds} --workers {args.workers}",
        "workers": args.workers, "seconds": times,
        "code": {name: tree_state(src) for name, src in variants}, "machine": machine(load)})


if __name__ == "__main__":
    main()
