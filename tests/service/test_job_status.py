"""Retrain job status without races: only the job writes its file, and a reader that looks while
the job ends never turns its result into "failed"; a killed job still reads as failed.

The 200 jobs run in this process through `run_here` (what `shoprec retrain BUNDLE` runs: the
locks, the job file and the retrain of a launched job), while reader processes poll the newest
job without pause, as the service's workers do. A real job process costs about 2 s of imports,
so only the killed job is one.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from shoprec.service.retrain_job import TERMINAL, jobs_dir, launch, read_job, run_here
from shoprec.service.settings import ServiceSettings
from shoprec.store import Store

JOBS = 200
READERS = 2
ROOT = Path(__file__).resolve().parents[2]


def _bundle_and_store(slice_bundle: Path, tmp_path: Path) -> tuple[Path, ServiceSettings]:
    """A private copy of the slice bundle (jobs write beside it) and an empty store: each job
    loads the serving bundle, finds nothing to train on and keeps it (about 25 ms)."""
    bundle = Path(shutil.copytree(slice_bundle, tmp_path / "bundle"))
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    Store(url).close()
    return bundle, ServiceSettings(database_url=url)


def _start_readers(bundle: Path, tmp_path: Path) -> tuple[list[subprocess.Popen], list[Path], Path]:
    stop = tmp_path / "stop"
    outs = [tmp_path / f"reader{n}.json" for n in range(READERS)]
    readers = [subprocess.Popen([sys.executable, "-m", "tests.service.job_poller", str(bundle),
                                 str(out), str(stop)], cwd=ROOT) for out in outs]
    deadline = time.monotonic() + 120
    while not all(out.with_suffix(".ready").exists() for out in outs):
        assert all(r.poll() is None for r in readers), "a reader process died"
        assert time.monotonic() < deadline, "the readers did not start"
        time.sleep(0.05)
    return readers, outs, stop


def test_200_jobs_polled_while_they_end_all_read_as_what_they_wrote(
        slice_bundle: Path, tmp_path: Path) -> None:
    bundle, settings = _bundle_and_store(slice_bundle, tmp_path)
    readers, outs, stop = _start_readers(bundle, tmp_path)
    results = []
    try:
        for _ in range(JOBS):
            job = run_here(bundle, settings)
            assert job is not None, "the lock was held with no job running"
            results.append(job)
            assert read_job(bundle, job["job"]) == job  # what the job wrote, as it wrote it
    finally:
        stop.touch()
        for r in readers:
            assert r.wait(timeout=60) == 0
    assert {j["state"] for j in results} == {"kept"}, {j["reason"] for j in results}
    assert all("no events to train on" in j["reason"] and j["finished"] for j in results)
    seen: dict[str, set[str]] = {}
    for out in outs:
        body = json.loads(out.read_text())
        assert body["polls"] > JOBS, body["polls"]
        for job, states in body["seen"].items():
            seen.setdefault(job, set()).update(states)
    wrong = {j: s for j, s in seen.items() if any(t.startswith("failed") for t in s)}
    assert not wrong, (f"{len(wrong)} of {JOBS} finished jobs were read as failed, e.g. "
                       f"{dict(list(wrong.items())[:2])}")
    assert set(seen) <= {j["job"] for j in results} and len(seen) > JOBS // 2
    # the files still there (the newest 50) hold exactly what each job wrote last
    for job in results[-50:]:
        assert json.loads((jobs_dir(bundle) / f"{job['job']}.json").read_text()) == job


def test_a_killed_job_reads_as_failed_and_its_file_is_left_as_it_was(
        slice_bundle: Path, tmp_path: Path) -> None:
    bundle, settings = _bundle_and_store(slice_bundle, tmp_path)
    started = launch(bundle, settings)
    assert started is not None
    job, proc = started
    path = jobs_dir(bundle) / f"{job['job']}.json"
    alive = read_job(bundle, job["job"])
    assert alive is not None and alive["state"] in ("queued", "running")
    assert launch(bundle, settings) is None  # one job at a time
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL
    before = path.read_bytes()
    assert json.loads(before)["state"] not in TERMINAL
    dead = read_job(bundle, job["job"])
    assert dead is not None and dead["state"] == "failed"
    assert "ended without a result (killed?)" in dead["reason"]
    assert path.read_bytes() == before  # derived on read, never written by the reader
    again = launch(bundle, settings)  # the killed job's locks went with its process
    assert again is not None
    again[1].send_signal(signal.SIGKILL)
    again[1].wait(timeout=30)
    assert read_job(bundle, again[0]["job"])["state"] == "failed"
    assert read_job(bundle, job["job"]) == dead
