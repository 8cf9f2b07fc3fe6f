"""Starting a retrain job from a serving process (POST /admin/retrain, the single process's
`--retrain-every` schedule) and watching its process end: the service log and the retrain
counter say how it went. The job itself runs in its own process (`service.retrain_job`)."""

from __future__ import annotations

import logging
import subprocess
import threading
from pathlib import Path
from typing import Any

from prometheus_client import Counter

from shoprec.service.retrain_job import launch, read_job
from shoprec.service.settings import ServiceSettings

log = logging.getLogger("shoprec.service")


def start_retrain(bundle_dir: Path, settings: ServiceSettings, retrains: Counter
                  ) -> dict[str, Any] | None:
    """Launch a retrain job's process and watch it end (service log, `retrains` by outcome);
    None when a job is already running (in any worker), DataError while an experiment runs."""
    started = launch(bundle_dir, settings)
    if started is None:
        return None
    job, proc = started
    threading.Thread(target=_watch, args=(bundle_dir, retrains, job["job"], proc),
                     daemon=True).start()
    return job


def _watch(bundle_dir: Path, retrains: Counter, job_id: str, proc: subprocess.Popen) -> None:
    proc.wait()
    job = read_job(bundle_dir, job_id) or {"state": "failed", "reason": "no job file"}
    retrains.labels(job["state"]).inc()
    (log.error if job["state"] == "failed" else log.info)(
        "retrain job %s: %s: %s", job_id, job["state"], job["reason"])
