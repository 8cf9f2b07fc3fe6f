"""What every benchmark records the same way: the machine a figure was measured on, and the JSON
file under benchmarks/results/ it is written to.

The machines are shared (2 cores, other jobs running), so a wall time means little without how
busy the machine was: `machine` records the load averages before the run (when the script took
them) and at the time of writing, beside the cores, CPU model and Python. Scripts import this as
`from _common import machine, write_result` (they run as `python benchmarks/NAME.py`, which puts
this folder on the import path).
"""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import Any

#: where every benchmark's JSON goes
RESULTS = Path(__file__).resolve().parent / "results"


def machine(load_before: Sequence[float] | None = None, **extra: Any) -> dict[str, Any]:
    """The "machine" block of a result: cores, CPU, platform, Python and the 1/5/15-minute load
    averages (`load_before`, from `os.getloadavg()` at the start, and now); `extra` adds what a
    script knows besides (the threads it used, a note)."""
    block: dict[str, Any] = {"cpus": os.cpu_count(), "cpu": cpu_model(),
                             "platform": platform.platform(),
                             "python": platform.python_version()}
    if load_before is not None:
        block["load_average_before"] = [round(x, 2) for x in load_before]
    block["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    return block | extra


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo; what `platform` says elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def write_result(path: Path | str, result: Any) -> Path:
    """`result` as indented JSON at `path` (a bare file name lands in benchmarks/results/),
    folders made as needed; text is kept as written (Chinese titles stay readable) and NumPy
    numbers are written as floats. Returns the path written."""
    path = Path(path)
    if path.parent == Path("."):
        path = RESULTS / path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=float) + "\n")
    return path
