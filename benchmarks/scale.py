"""Scale rig: how each stage's wall time and peak memory grow from 10k to 1M items, on SYNTHETIC
shops (benchmarks/scale_data.py: power-law popularity, repeat / complement / same-category steps,
texts recombined from real Amazon titles and categories).

    SHOPREC_DATA_DIR=../shared/data OMP_NUM_THREADS=1 .venv/bin/python benchmarks/scale.py \
        --sizes 10k,100k,1m

Sizes: 10k items / 20k shoppers, 100k / 200k, 1m / 2m. Every stage runs in a child process;
its peak memory is that child's peak resident set (the kernel's ru_maxrss, read with wait4), so
it includes the inputs the stage loads. Results are merged into benchmarks/results/scale.json
after every stage (a partial run keeps what it measured) and drawn log-log into scale.png.
A stage that was not run at a size says why; no figure is extrapolated.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import machine, write_result

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "scale.json"
SIZES = {"10k": (10_000, 20_000), "100k": (100_000, 200_000), "1m": (1_000_000, 2_000_000)}
ORDER = ["generate", "prepare", "encode", "index", "itemknn", "als", "ease", "sasrec", "topk",
         "request", "bundle"]
COMMAND = ("SHOPREC_DATA_DIR=../shared/data OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE "
           ".venv/bin/python benchmarks/scale.py --sizes {sizes}")


def run_child(stage: str, size: str, work: Path, timeout_s: float) -> dict[str, Any]:
    """Run one stage in a fresh interpreter; its figures plus wall time and peak RSS."""
    out_file = work / f"{stage}.result.json"
    out_file.unlink(missing_ok=True)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", stage, "--size", size,
           "--work", str(work)]
    start = time.perf_counter()
    log = open(work / f"{stage}.log", "w")  # noqa: SIM115 - closed when the child ends
    proc = subprocess.Popen(cmd, cwd=HERE.parent, stdout=log, stderr=subprocess.STDOUT)
    deadline = start + timeout_s
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            proc.kill()
            pid, status, usage = os.wait4(proc.pid, 0)
            return {"not_run": f"stopped after the rig's {timeout_s:.0f} s limit for one stage",
                    "peak_rss_mb": usage.ru_maxrss / 1024}
        time.sleep(0.2)
    log.close()
    wall = time.perf_counter() - start
    result: dict[str, Any] = {"process_seconds": round(wall, 2),
                              "peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}
    if os.waitstatus_to_exitcode(status) != 0 or not out_file.exists():
        tail = (work / f"{stage}.log").read_text().strip().splitlines()[-1:]
        result["failed"] = f"exit status {os.waitstatus_to_exitcode(status)}: {' '.join(tail)}"
        return result
    return {**json.loads(out_file.read_text()), **result}


def child(stage: str, size: str, work: Path) -> None:
    sys.path.insert(0, str(HERE))
    from scale_stages import STAGES

    n_items, n_users = SIZES[size]
    real = work.parent / "10k" / "vectors.npy"
    result = STAGES[stage](work, n_items=n_items, n_users=n_users, real_vectors=real)
    rounded = {k: round(v, 4) if isinstance(v, float) else v for k, v in result.items()}
    (work / f"{stage}.result.json").write_text(json.dumps(rounded))


def save(results: dict[str, Any]) -> None:
    write_result(RESULTS, results)


def load() -> dict[str, Any]:
    if RESULTS.exists():
        return json.loads(RESULTS.read_text())
    return {}


def table(results: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title="scale rig (SYNTHETIC shops): seconds / peak MB per stage")
    t.add_column("stage")
    sizes = [s for s in SIZES if s in results.get("sizes", {})]
    for s in sizes:
        t.add_column(s, justify="right")
    for stage in ORDER:
        row = [stage]
        for s in sizes:
            r = results["sizes"][s]["stages"].get(stage, {})
            if "seconds" in r:
                row.append(f"{r['seconds']:.2f} s / {r.get('peak_rss_mb', 0):,.0f} MB")
            else:
                row.append(next((str(r[k])[:40] for k in ("refused", "not_run", "failed")
                                 if k in r), "-"))
        t.add_row(*row)
    Console().print(t)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10k,100k")
    ap.add_argument("--stages", default=",".join(ORDER))
    ap.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "shoprec-scale"))
    ap.add_argument("--stage-timeout", type=float, default=3600)
    ap.add_argument("--child")
    ap.add_argument("--size")
    args = ap.parse_args()
    if args.child:
        child(args.child, args.size, Path(args.work))
        return
    sys.path.insert(0, str(HERE))
    from scale_data import LABEL

    results = load()
    results.update({"data": LABEL, "machine": machine(),
                    "command": COMMAND.format(sizes=args.sizes),
                    "peak_memory": "peak resident set of the stage's own process (its inputs "
                                   "included), from the kernel's ru_maxrss",
                    "seconds": "the stage's own work, measured inside the process; "
                               "process_seconds adds interpreter start and input loading"})
    sizes = results.setdefault("sizes", {})
    for size in args.sizes.split(","):
        n_items, n_users = SIZES[size]
        work = Path(args.work) / size
        work.mkdir(parents=True, exist_ok=True)
        entry = sizes.setdefault(size, {"items": n_items, "shoppers": n_users, "stages": {}})
        for stage in args.stages.split(","):
            print(f"[{size}] {stage} ...", flush=True)
            entry["stages"][stage] = run_child(stage, size, work, args.stage_timeout)
            if stage == "generate" and "interactions" in entry["stages"][stage]:
                entry["interactions"] = entry["stages"][stage]["interactions"]
            print(f"[{size}] {stage}: {entry['stages'][stage]}", flush=True)
            save(results)
            if stage == "generate" and "failed" in entry["stages"][stage]:
                break
    table(results)
    from scale_plot import plot

    plot(results, RESULTS.with_suffix(".png"))


if __name__ == "__main__":
    main()
