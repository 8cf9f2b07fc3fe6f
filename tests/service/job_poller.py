"""A reader of retrain job files, as every worker of the service is one: it polls the newest job
without pause (what `/health` and `GET /admin/retrain/{job}` call) and records each state it
saw per job, so test_job_status can tell whether a reader ever saw a finished job as failed.

    python -m tests.service.job_poller BUNDLE OUT.json STOP_FILE
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from shoprec.service.retrain_job import last_job


def poll(bundle: Path, out: Path, stop: Path) -> None:
    seen: dict[str, set[str]] = {}
    polls = 0
    out.with_suffix(".ready").touch()
    while not stop.exists():
        job = last_job(bundle)
        polls += 1
        if job is not None:
            seen.setdefault(job["job"], set()).add(f"{job['state']}: {job['reason']}")
    out.write_text(json.dumps({"polls": polls, "seen": {k: sorted(v) for k, v in seen.items()}}))


if __name__ == "__main__":
    poll(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
