"""kill -9 during ingestion, on SQLite and PostgreSQL: every acknowledged event is in the store
exactly once, and batches that were in flight can be re-sent with their event_ids without
being stored twice.

The server is `shoprec serve` in its own process (a kill -9 of a thread would prove nothing);
`crash_run` is shared with `benchmarks/reliability.py`, which repeats it 10+ times per database.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest
from sqlalchemy import func, select

from shoprec.store import Store
from shoprec.store.schema import events
from tests.service.conftest import API_KEY, free_port

KEY = {"X-API-Key": API_KEY}

pytestmark = pytest.mark.slow
Batch = list[dict[str, Any]]


@dataclass
class CrashRun:
    """One run's ledger. `in_flight_stored`: unacknowledged events the store had committed
    anyway (the kill came between commit and answer); their re-send must come back as
    duplicates."""

    backend: str
    kill_after_s: float
    acknowledged: int
    acknowledged_stored: int
    lost: int
    duplicated: int
    unacknowledged: int
    in_flight_stored: int
    resent_stored: int
    resent_duplicates: int
    stored_after_resend: int
    expected_after_resend: int

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def server_env(db: tuple[str, str | None]) -> dict[str, str]:
    """This process's environment with the store and key of `db` (no other SHOPREC_ setting
    leaks in from the caller's shell)."""
    url, schema = db
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPREC_")
           or k in ("SHOPREC_DATA_DIR", "SHOPREC_CACHE_DIR")}
    env.update(SHOPREC_API_KEY=API_KEY, SHOPREC_DATABASE_URL=url, SHOPREC_SEARCH_WARMUP="0",
               PYTHONUNBUFFERED="1", **({"SHOPREC_DATABASE_SCHEMA": schema} if schema else {}))
    return env


def serve_command(bundle: Path, port: int, seed: bool) -> list[str]:
    return [str(Path(sys.executable).with_name("shoprec")), "serve", str(bundle),
            "--port", str(port), *(["--seed"] if seed else [])]


def serve(bundle: Path, db: tuple[str, str | None], log: Path, seed: bool
          ) -> tuple[subprocess.Popen, str]:
    """`shoprec serve` as an operator starts it; returns once /health answers 200."""
    port = free_port()
    with log.open("a") as out:  # a file, not a pipe: an unread pipe would block the server
        proc = subprocess.Popen(serve_command(bundle, port, seed), env=server_env(db),
                                stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"shoprec serve exited {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"shoprec serve did not answer in 180 s: {log.read_text()[-2000:]}")


def post_until_killed(base: str, make_batch: Any, clients: int, kill_after_s: float,
                      proc: subprocess.Popen) -> tuple[list[Batch], list[Batch]]:
    """`clients` threads post batches until the server is killed -9 after `kill_after_s`;
    returns (acknowledged batches, batches sent but not acknowledged)."""
    acked: list[Batch] = []
    unacked: list[Batch] = []
    lock = threading.Lock()

    def client(n: int) -> None:
        with httpx.Client(base_url=base, timeout=30) as http:
            for seq in range(10**6):
                batch = make_batch(n, seq)
                try:
                    r = http.post("/events", json={"events": batch}, headers=KEY)
                    ok = (r.status_code == 200
                          and r.json()["stored"] + r.json()["duplicates"] == len(batch))
                except httpx.HTTPError:
                    ok = None  # the server is gone
                with lock:
                    (acked if ok else unacked).append(batch)
                if ok is None:
                    return

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    for t in threads:
        t.start()
    time.sleep(kill_after_s)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    for t in threads:
        t.join(timeout=60)
    return acked, unacked


def stored_counts(db: tuple[str, str | None], prefix: str) -> dict[str, int]:
    """event_id -> rows holding it, read straight from the store (no server in between)."""
    store = Store(db[0], schema=db[1])
    try:
        with store.engine.connect() as conn:
            rows = conn.execute(select(events.c.event_id, func.count())
                                .where(events.c.event_id.like(f"{prefix}%"))
                                .group_by(events.c.event_id)).all()
    finally:
        store.close()
    return {event_id: n for event_id, n in rows}


def crash_run(bundle_src: Path, work: Path, db: tuple[str, str | None], backend: str,
              run: int, clients: int = 4, batch_size: int = 20) -> CrashRun:
    """Ingest, kill -9 mid-stream, check the store, restart, re-send what was not
    acknowledged, check again."""
    rng = random.Random(run)
    kill_after_s = round(rng.uniform(0.5, 2.5), 2)
    bundle = work / "bundle"
    if not bundle.exists():
        shutil.copytree(bundle_src, bundle)
    items = pl.read_parquet(bundle / "items.parquet", columns=["item_id"])["item_id"].to_list()
    prefix = f"crash{run}-"

    def make_batch(client: int, seq: int) -> Batch:
        pick = random.Random(f"{run}-{client}-{seq}")
        return [{"user_id": f"crash-{client}-{pick.randrange(50)}", "item_id": pick.choice(items),
                 "event": pick.choice(["view", "click", "cart", "purchase"]),
                 "event_id": f"{prefix}{client}-{seq}-{i}"} for i in range(batch_size)]

    proc, base = serve(bundle, db, work / "server.log", seed=True)
    acked, unacked = post_until_killed(base, make_batch, clients, kill_after_s, proc)
    counts = stored_counts(db, prefix)
    acked_ids = [e["event_id"] for b in acked for e in b]
    unacked_ids = [e["event_id"] for b in unacked for e in b]

    proc, base = serve(bundle, db, work / "server.log", seed=False)  # a seeded store restarts
    resent_stored = resent_duplicates = 0
    try:
        with httpx.Client(base_url=base, timeout=30) as http:
            for batch in unacked:
                r = http.post("/events", json={"events": batch}, headers=KEY)
                assert r.status_code == 200, r.text
                resent_stored += r.json()["stored"]
                resent_duplicates += r.json()["duplicates"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    after = stored_counts(db, prefix)
    return CrashRun(
        backend=backend, kill_after_s=kill_after_s, acknowledged=len(acked_ids),
        acknowledged_stored=sum(1 for e in acked_ids if counts.get(e) == 1),
        lost=sum(1 for e in acked_ids if e not in counts),
        duplicated=sum(1 for n in after.values() if n > 1),
        unacknowledged=len(unacked_ids),
        in_flight_stored=sum(1 for e in unacked_ids if e in counts),
        resent_stored=resent_stored, resent_duplicates=resent_duplicates,
        stored_after_resend=sum(after.values()),
        expected_after_resend=len(set(acked_ids) | set(unacked_ids)))


@pytest.mark.parametrize("run", [1, 2])
def test_kill_9_loses_no_acknowledged_event_and_resending_stores_once(
        slice_bundle: Path, database_url: tuple[str, str | None], tmp_path: Path, run: int
) -> None:
    backend = "sqlite" if database_url[0].startswith("sqlite") else "postgresql"
    result = crash_run(slice_bundle, tmp_path, database_url, backend, run)
    assert result.acknowledged > 0, result
    assert result.lost == 0 and result.acknowledged_stored == result.acknowledged, result
    assert result.duplicated == 0, result
    assert result.resent_duplicates == result.in_flight_stored, result
    assert result.stored_after_resend == result.expected_after_resend, result
