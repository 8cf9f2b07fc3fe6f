"""Retraining as a job in a process of its own, so no request waits behind the training.

A job is one JSON file under `BUNDLE.generations/jobs/` (written atomically), so any worker of
the service can answer for it. One job runs at a time: the launcher takes an flock on
`BUNDLE.generations/retrain.lock` and hands the locked descriptor to the job's process, which
holds it until it exits; a second launch finds it held (HTTP 409). The process runs in the idle
scheduling class (`background.yield_to_serving`: only on CPU the workers leave) with its own
store connection: `python -m shoprec.service.retrain_job BUNDLE JOB` (the store and the
gate come from the SHOPREC_ environment the launcher sets).

Only the job writes its file (the launcher writes it while no job process exists yet: queued,
or failed when the process did not start). It says whether the job is alive with a second
flock, on `jobs/JOB.lock`, taken before the file is first written and held with the retrain lock
until the job's result is written. A reader never writes: a file that is not terminal while
that lock is free is read again (the result may have landed between the two looks) and only
then reported as failed (killed). Readers probe the job's own lock, not the retrain lock, so a
probe never makes a launch see a job running.
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from shoprec.experiments.lifecycle import no_experiment_running
from shoprec.generations import generations_dir, serving_path
from shoprec.service.idle_priority import yield_to_serving
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


def _lock_path(bundle: Path, job_id: str) -> Path:
    return jobs_dir(bundle) / f"{job_id}.lock"


def _load(bundle: Path, job_id: str) -> dict[str, Any] | None:
    try:
        return json.loads((jobs_dir(bundle) / f"{job_id}.json").read_text())
    except FileNotFoundError:
        return None


def read_job(bundle: Path, job_id: str) -> dict[str, Any] | None:
    """The job's state; None for an unknown id. Never writes: a job whose process ended
    without writing a result (killed) reads as failed, and its file stays as the job left it."""
    if not JOB_ID.match(job_id):
        return None
    job = _load(bundle, job_id)
    if job is None or job["state"] in TERMINAL or _alive(bundle, job_id):
        return job
    job = _load(bundle, job_id)  # the job writes its result before it frees its lock
    if job is None or job["state"] in TERMINAL:
        return job
    return job | {"state": "failed", "reason": "the job's process ended without a result "
                                               "(killed?); old bundle kept"}


def _alive(bundle: Path, job_id: str) -> bool:
    """Whether a process holds the job's own lock (a probe: taken and dropped at once)."""
    try:
        fd = os.open(_lock_path(bundle, job_id), os.O_RDONLY)
    except FileNotFoundError:
        return False  # pruned, or written before jobs had a lock of their own
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def last_job(bundle: Path) -> dict[str, Any] | None:
    ids = _job_ids(bundle)
    return read_job(bundle, ids[-1]) if ids else None


def new_job(bundle: Path, kind: str = "retrain") -> tuple[dict[str, Any], int]:
    """A queued job's state, written, and a descriptor holding the job's own lock (taken before
    the file exists, so no reader sees the job without it); old job files beyond the last 50
    are removed. The caller holds the retrain lock (`try_lock`). `kind`: "retrain" (a
    challenger on the store's events, gated) or "choose" (auto on the bundle's own data)."""
    now = time.time()
    job_id = (time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)) + f"{int(now % 1 * 1e6):06d}-"
              + secrets.token_hex(3))
    generation, _ = serving_path(bundle)
    job = {"job": job_id, "kind": kind, "state": "queued", "reason": "", "champion_metrics": {},
           "challenger_metrics": {}, "generation": generation, "seconds": None,
           "started": None, "finished": None}
    jobs_dir(bundle).mkdir(parents=True, exist_ok=True)
    fd = os.open(_lock_path(bundle, job_id), os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)  # a fresh file: nobody else knows its name yet
    write_job(bundle, job)
    for old in _job_ids(bundle)[:-_KEEP_JOB_FILES]:
        (jobs_dir(bundle) / f"{old}.json").unlink(missing_ok=True)
        _lock_path(bundle, old).unlink(missing_ok=True)
    return job, fd


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


def launch(bundle: Path, settings: ServiceSettings, rechoose: bool = False,
           choose_minutes: float | None = None) -> tuple[dict[str, Any], subprocess.Popen] | None:
    """Start a job process (queued state written first); None when a job is running. DataError
    while an experiment runs: the retrain would replace its control (`no_experiment_running`).
    With `choose_minutes`, the job runs auto on the bundle's data instead (`service.choose`)."""
    no_experiment_running(bundle)
    with _locked_new_job(bundle, choose_minutes) as locked:
        if locked is None:
            return None
        job, fds = locked
        command = [sys.executable, "-m", "shoprec.service.retrain_job", str(Path(bundle).resolve()),
                   job["job"], *(a for f in fds for a in ("--lock-fd", str(f))),
                   *(["--rechoose"] if rechoose else []),
                   *(["--choose-minutes", repr(choose_minutes)] if choose_minutes is not None
                     else [])]
        try:
            proc = subprocess.Popen(command, pass_fds=tuple(fds),
                                    env=job_environment(bundle, settings))
        except OSError as exc:  # no job process exists: the launcher records the failure
            job.update(state="failed", reason=f"the job's process did not start: {exc}",
                       finished=_now())
            write_job(bundle, job)
            raise
    return job, proc  # its process holds both locks now (the same open file descriptions)


@contextmanager
def _locked_new_job(bundle: Path, choose_minutes: float | None
                    ) -> Iterator[tuple[dict[str, Any], list[int]] | None]:
    """The retrain lock and a new job file under a lock of its own, both released on leaving
    (a launched job's process holds them by then); None when a job is running."""
    fd = try_lock(bundle)
    if fd is None:
        yield None
        return
    fds = [fd]
    try:
        job, job_fd = new_job(bundle, "retrain" if choose_minutes is None else "choose")
        fds.append(job_fd)
        yield job, fds
    finally:
        release(fds)


def release(fds: list[int]) -> None:
    """Close the lock descriptors (the job's result is written first: readers rely on it)."""
    for fd in fds:
        os.close(fd)


def run_job(bundle: Path, job: dict[str, Any], settings: ServiceSettings, rechoose: bool = False,
            progress: Callable[[str], None] = lambda _: None,
            choose_minutes: float | None = None) -> dict[str, Any]:
    """Run the retrain (or with `choose_minutes`, the choice) and record its outcome in the
    job's file; a failure records its traceback and leaves the old generation serving. Returns
    the final state."""
    from shoprec.retraining import retrain_generation
    from shoprec.service.choose import choose_generation
    from shoprec.store import Store

    start = time.perf_counter()
    job.update(state="running", started=_now())
    write_job(bundle, job)
    try:
        store = Store(settings.resolved_database_url(bundle), schema=settings.database_schema)
        try:
            result = (retrain_generation(bundle, store, settings.retrain_tolerance,
                                         settings.retrain_min_shoppers, settings.keep_generations,
                                         rechoose=rechoose, progress=progress)
                      if choose_minutes is None else
                      choose_generation(bundle, store, choose_minutes, settings.keep_generations,
                                        progress))
        finally:
            store.close()
        job.update(state=result.state, reason=result.reason, generation=result.generation,
                   champion_metrics=result.champion_metrics,
                   challenger_metrics=result.challenger_metrics)
    except Exception as exc:  # noqa: BLE001 - any failure keeps the old bundle serving
        job.update(state="failed", traceback=traceback.format_exc(),
                   reason=f"{job.get('kind', 'retrain')} failed, old bundle kept: "
                          f"{type(exc).__name__}: {exc}")
        log.error("retrain job %s failed:\n%s", job["job"], job["traceback"])
    job.update(seconds=round(time.perf_counter() - start, 3), finished=_now())
    write_job(bundle, job)
    return job


def run_here(bundle: Path, settings: ServiceSettings, rechoose: bool = False,
             progress: Callable[[str], None] = lambda _: None,
             choose_minutes: float | None = None) -> dict[str, Any] | None:
    """A job run in the calling process, with the locks and the job file as a launched job's
    (`shoprec retrain BUNDLE`); None when a job is running. Returns the final state."""
    with _locked_new_job(bundle, choose_minutes) as locked:
        if locked is None:
            return None
        return run_job(bundle, locked[0], settings, rechoose, progress, choose_minutes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shoprec.service.retrain_job")
    parser.add_argument("bundle", type=Path)
    parser.add_argument("job")
    parser.add_argument("--rechoose", action="store_true")
    parser.add_argument("--choose-minutes", type=float, default=None,
                        help="run auto on the bundle's data within this budget (service.choose)")
    parser.add_argument("--lock-fd", type=int, action="append", default=[],
                        help="an inherited descriptor holding the retrain lock or the job's own")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    priority = yield_to_serving()
    job = read_job(args.bundle, args.job)
    if job is None:
        log.error("retrain job %s: no such job under %s", args.job, jobs_dir(args.bundle))
        return 2
    job["priority"] = priority
    job = run_job(args.bundle, job, ServiceSettings(), args.rechoose,
                  progress=lambda m: log.info("retrain job %s: %s", args.job, m),
                  choose_minutes=args.choose_minutes)
    release(args.lock_fd)  # free for the next job as soon as the result is written
    log.info("retrain job %s: %s: %s", args.job, job["state"], job["reason"])
    return 0 if job["state"] != "failed" else 1


if __name__ == "__main__":
    sys.exit(main())
