"""Retraining as a job in a process of its own, so no request waits behind the training.

A job is one JSON file under `BUNDLE.generations/jobs/` (written atomically), so any worker of
the service can answer for it. One job runs at a time: the launcher takes an flock on
`BUNDLE.generations/retrain.lock` and hands the locked descriptor to the job's process, which
holds it until it exits; a second launch finds it held (HTTP 409). The process runs in the idle
scheduling class (`background.yield_to_serving`: only on CPU the workers leave) with its own
store connection: `python -m shoprec.service.retrain_job BUNDLE JOB` (the store and the
gate come from the SHOPREC_ environment the launcher sets).
"""

from __future__ import annotations

import argparse
import fcntl
import json
import logging
import os
import re
import secrets
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shoprec.experiments.config import no_experiment_running
from shoprec.generations import generations_dir, serving_path
from shoprec.service.background import yield_to_serving
from shoprec.service.settings import ServiceSettings

log = logging.getLogger("shoprec.service")
#: UTC start time to the microsecond, then a random tail: jobs run one at a time, so their ids
#: sort in the order they started.
JOB_ID = re.compile(r"^\d{8}T\d{12}-[0-9a-f]{6}$")
TERMINAL = ("swapped", "kept", "failed")
_KEEP_JOB_FILES = 50


def jobs_dir(bundle: Path) -> Path:
    return generations_dir(bundle) / "jobs"


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def write_job(bundle: Path, job: dict[str, Any]) -> None:
    """Write the job's state atomically (readers see the old file or the new one)."""
    folder = jobs_dir(bundle)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{job['job']}.tmp-{os.getpid()}"
    tmp.write_text(json.dumps(job, indent=2))
    os.replace(tmp, folder / f"{job['job']}.json")


def _job_ids(bundle: Path) -> list[str]:
    folder = jobs_dir(bundle)
    return sorted(p.stem for p in folder.glob("*.json") if JOB_ID.match(p.stem)) if folder.is_dir() else []


def recent_job_ids(bundle: Path, n: int) -> list[str]:
    """The ids of the last `n` jobs, newest first."""
    return _job_ids(bundle)[-n:][::-1]


def try_lock(bundle: Path) -> int | None:
    """A descriptor holding the retrain lock, or None when a job holds it."""
    root = generations_dir(bundle)
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root / "retrain.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def read_job(bundle: Path, job_id: str) -> dict[str, Any] | None:
    """The job's state; None for an unknown id. A job whose process ended without writing a
    result (killed) reads as failed."""
    if not JOB_ID.match(job_id):
        return None
    path = jobs_dir(bundle) / f"{job_id}.json"
    try:
        job = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    if job["state"] not in TERMINAL and not _still_running(bundle, job_id):
        job.update(state="failed", reason="the job's process ended without a result (killed?); "
                                          "old bundle kept", finished=_now())
        write_job(bundle, job)
    return job


def _still_running(bundle: Path, job_id: str) -> bool:
    if _job_ids(bundle)[-1:] != [job_id]:
        return False  # a newer job started, so this one's process is gone
    fd = try_lock(bundle)
    if fd is None:
        return True
    os.close(fd)
    return False


def last_job(bundle: Path) -> dict[str, Any] | None:
    ids = _job_ids(bundle)
    return read_job(bundle, ids[-1]) if ids else None


def new_job(bundle: Path) -> dict[str, Any]:
    """A queued job's state, written; old job files beyond the last 50 are removed."""
    now = time.time()
    job_id = (time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)) + f"{int(now % 1 * 1e6):06d}-"
              + secrets.token_hex(3))
    generation, _ = serving_path(bundle)
    job = {"job": job_id, "state": "queued", "reason": "", "champion_metrics": {},
           "challenger_metrics": {}, "generation": generation, "seconds": None,
           "started": None, "finished": None}
    write_job(bundle, job)
    for old in _job_ids(bundle)[:-_KEEP_JOB_FILES]:
        (jobs_dir(bundle) / f"{old}.json").unlink(missing_ok=True)
    return job


def job_environment(bundle: Path, settings: ServiceSettings) -> dict[str, str]:
    """The SHOPREC_ settings a job process reads: the service's store and gate."""
    env = dict(os.environ)
    env["SHOPREC_DATABASE_URL"] = settings.resolved_database_url(bundle)
    env.pop("SHOPREC_DATABASE_SCHEMA", None)
    if settings.database_schema:
        env["SHOPREC_DATABASE_SCHEMA"] = settings.database_schema
    env["SHOPREC_RETRAIN_TOLERANCE"] = repr(settings.retrain_tolerance)
    env["SHOPREC_RETRAIN_MIN_SHOPPERS"] = str(settings.retrain_min_shoppers)
    env["SHOPREC_KEEP_GENERATIONS"] = str(settings.keep_generations)
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # idle OpenMP threads sleep, not spin
    return env


def launch(bundle: Path, settings: ServiceSettings, rechoose: bool = False
           ) -> tuple[dict[str, Any], subprocess.Popen] | None:
    """Start a job process (queued state written first); None when a job is running. DataError
    while an experiment runs: the retrain would replace its control (`no_experiment_running`)."""
    no_experiment_running(bundle)
    fd = try_lock(bundle)
    if fd is None:
        return None
    try:
        job = new_job(bundle)
        command = [sys.executable, "-m", "shoprec.service.retrain_job", str(Path(bundle).resolve()),
                   job["job"], "--lock-fd", str(fd), *(["--rechoose"] if rechoose else [])]
        try:
            proc = subprocess.Popen(command, pass_fds=(fd,), env=job_environment(bundle, settings))
        except OSError as exc:
            job.update(state="failed", reason=f"the job's process did not start: {exc}",
                       finished=_now())
            write_job(bundle, job)
            raise
    finally:
        os.close(fd)  # the job's process holds the lock now (same open file description)
    return job, proc


def run_job(bundle: Path, job: dict[str, Any], settings: ServiceSettings, rechoose: bool = False,
            progress: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Run the retrain and record its outcome in the job's file; a failure records its
    traceback and leaves the old generation serving. Returns the final state."""
    from shoprec.service.retrain import retrain_generation
    from shoprec.store import Store

    start = time.perf_counter()
    job.update(state="running", started=_now())
    write_job(bundle, job)
    try:
        store = Store(settings.resolved_database_url(bundle), schema=settings.database_schema)
        try:
            result = retrain_generation(bundle, store, settings.retrain_tolerance,
                                        settings.retrain_min_shoppers, settings.keep_generations,
                                        rechoose=rechoose, progress=progress)
        finally:
            store.close()
        job.update(state=result.state, reason=result.reason, generation=result.generation,
                   champion_metrics=result.champion_metrics,
                   challenger_metrics=result.challenger_metrics)
    except Exception as exc:  # noqa: BLE001 - any failure keeps the old bundle serving
        job.update(state="failed", traceback=traceback.format_exc(),
                   reason=f"retrain failed, old bundle kept: {type(exc).__name__}: {exc}")
        log.error("retrain job %s failed:\n%s", job["job"], job["traceback"])
    job.update(seconds=round(time.perf_counter() - start, 3), finished=_now())
    write_job(bundle, job)
    return job


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shoprec.service.retrain_job")
    parser.add_argument("bundle", type=Path)
    parser.add_argument("job")
    parser.add_argument("--rechoose", action="store_true")
    parser.add_argument("--lock-fd", type=int, default=None,
                        help="the inherited descriptor holding the retrain lock")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    priority = yield_to_serving()
    job = read_job(args.bundle, args.job)
    if job is None:
        log.error("retrain job %s: no such job under %s", args.job, jobs_dir(args.bundle))
        return 2
    job["priority"] = priority
    job = run_job(args.bundle, job, ServiceSettings(), args.rechoose,
                  progress=lambda m: log.info("retrain job %s: %s", args.job, m))
    if args.lock_fd is not None:  # free for the next job as soon as the result is written
        os.close(args.lock_fd)
    log.info("retrain job %s: %s: %s", args.job, job["state"], job["reason"])
    return 0 if job["state"] != "failed" else 1


if __name__ == "__main__":
    sys.exit(main())
