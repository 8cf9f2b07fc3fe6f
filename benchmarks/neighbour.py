"""A CPU-bound neighbour for the service benchmark: one busy process per core the benchmark may
use, started as another user's batch job would be (its own session), at low priority.

Policies (`--neighbour`):
  * `nice`: nice 19. Under Linux's autogroup scheduling (`/proc/sys/kernel/sched_autogroup_enabled`
    = 1) nice only orders processes within one session: against the server's session the
    neighbour's session weighs as much as the server's, whatever its nice value.
  * `nice-group`: nice 19, and its session's autogroup set to nice 19 too (`/proc/self/autogroup`),
    so the low priority holds against other sessions.
  * `idle`: the SCHED_IDLE class.
Kinds (`--neighbour-kind`): `loop` (a Python busy loop) or `matmul` (numpy 256x256 products on
one BLAS thread). What the neighbour got is measured (its CPU seconds over the run's wall time,
per core), so a report says how much of the machine it took, not only how it was started.

`compare` runs each load quiet and then beside the neighbour, back to back, and gives both
figures and their ratio (with neighbour / quiet) per endpoint and client count.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Self

from rich.table import Table

POLICIES = ("nice", "nice-group", "idle")
KINDS = ("loop", "matmul")
_WORK = {
    "loop": "while True:\n    pass",
    "matmul": "import numpy as np\na = np.random.rand(256, 256)\nwhile True:\n    a @ a",
}
_SETUP = """
import os, sys
policy, processes = sys.argv[1], int(sys.argv[2])
os.nice(19)
if policy == "nice-group":  # this session's autogroup: the one all the processes share
    with open("/proc/self/autogroup", "w") as f:
        f.write("19")
elif policy == "idle":
    os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
for _ in range(processes - 1):  # the children inherit nice, class and session
    if os.fork() == 0:
        break
"""


def autogroup_enabled() -> bool | None:
    try:
        return Path("/proc/sys/kernel/sched_autogroup_enabled").read_text().strip() == "1"
    except OSError:
        return None


def _cpu_seconds(pid: int) -> float:
    """utime + stime of `pid` in seconds (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


class Neighbour:
    """`with Neighbour("nice", "loop") as n: ...`; afterwards `n.report()` says what it took.
    One session (a process group, killed whole at the end) of `processes` busy processes."""

    def __init__(self, policy: str = "nice", kind: str = "loop", processes: int | None = None
                 ) -> None:
        if policy not in POLICIES or kind not in KINDS:
            raise ValueError(f"neighbour: policy one of {POLICIES}, kind one of {KINDS}")
        self.policy, self.kind = policy, kind
        self.processes = processes or len(os.sched_getaffinity(0))
        self.pids: list[int] = []
        self._started = 0.0
        self._wall = 0.0
        self._cpu = 0.0

    def __enter__(self) -> Self:
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        self.leader = subprocess.Popen(
            [sys.executable, "-c", _SETUP + _WORK[self.kind], self.policy, str(self.processes)],
            env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(1.0)  # started, nice set, numpy imported, children forked
        self.pids = [self.leader.pid, *_children(self.leader.pid)]
        if self.leader.poll() is not None or len(self.pids) != self.processes:
            err = self.leader.stderr.read().decode()[-500:] if self.leader.poll() is not None else ""
            self.__exit__(None, None, None)
            raise RuntimeError(f"the neighbour did not start {self.processes} processes: {err}")
        self._cpu = -sum(_cpu_seconds(p) for p in self.pids)
        self._started = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._started:
            self._cpu += sum(_cpu_seconds(p) for p in self.pids)
            self._wall = time.perf_counter() - self._started
        try:
            os.killpg(self.leader.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.leader.wait(timeout=10)

    def report(self) -> dict:
        cores = len(os.sched_getaffinity(0))
        share = self._cpu / (self._wall * cores) if self._wall else None
        return {"policy": self.policy, "kind": self.kind, "processes": self.processes,
                "autogroup_enabled": autogroup_enabled(),
                "cpu_share_taken": None if share is None else round(share, 3)}


def compare(measure: Callable[[], dict], policy: str, kind: str) -> dict:
    """`measure()` quiet, then beside the neighbour: both results, the neighbour's report, and
    the ratios (with neighbour / quiet) of throughput and p99."""
    quiet = measure()
    with Neighbour(policy, kind) as neighbour:
        loaded = measure()
    return {"quiet": quiet, "neighbour": loaded, "neighbour_process": neighbour.report(),
            "throughput_ratio": round(loaded["throughput_rps"] / max(quiet["throughput_rps"], 1e-9), 3),
            "p99_ratio": round(loaded["p99_ms"] / max(quiet["p99_ms"], 1e-9), 3)}


def neighbour_table(title: str, section: dict) -> Table:
    """Quiet and beside-the-neighbour figures of one server, per client count, side by side
    (each cell: req/s and p99 ms; ratio: beside the neighbour / quiet)."""
    beside = section["beside_neighbour"]
    t = Table(title=f"{title}: quiet and beside a {beside['policy']} neighbour ({beside['kind']}, "
                    "one process per core); req/s, p99 ms")
    for col in ("clients", "recs quiet", "recs beside", "ratio", "items quiet", "items beside",
                "ratio", "recs/items quiet, beside", "neighbour CPU"):
        t.add_column(col, justify="right")
    for rq, rn, iq, i_n in zip(section["recommendations"], beside["recommendations"],
                               section["items"], beside["items"]):
        share = [r["neighbour"]["cpu_share_taken"] for r in (rn, i_n)]
        t.add_row(str(rq["connections"]), *_pair(rq, rn), *_pair(iq, i_n),
                  f"{rq['throughput_rps'] / iq['throughput_rps']:.2f}, "
                  f"{rn['throughput_rps'] / i_n['throughput_rps']:.2f}",
                  ", ".join("-" if x is None else f"{x:.0%}" for x in share))
    return t


def _pair(quiet: dict, loaded: dict) -> list[str]:
    return [f"{quiet['throughput_rps']:.0f}, {quiet['p99_ms']:.1f}",
            f"{loaded['throughput_rps']:.0f}, {loaded['p99_ms']:.1f}",
            f"{loaded['throughput_rps'] / quiet['throughput_rps']:.2f}"]
