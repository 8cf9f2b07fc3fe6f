"""Background work (a retrain job, loading a new generation) on CPU that serving leaves idle.

`nice 10` was not enough on a 2-core shop server: a niced trainer still takes about a tenth of
a core from the workers it competes with and delays their wake-ups, and the p99 of
`GET /recommendations` under 8 clients rose 8x during a retrain. Linux's SCHED_IDLE class runs a
thread only when no normal thread wants the core, and a waking worker preempts it at once. Where
SCHED_IDLE is not available the thread is niced to 19 instead.

Only for a process that serves no request (the job's process, the master of the workers): a
thread in the idle class that holds the GIL while the cores are busy would hold up the
process's event loop until a core frees.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger("shoprec.service")


def yield_to_serving(thread_id: int = 0) -> str:
    """Put `thread_id` (0: the calling thread; threads it starts later inherit the class) in
    the idle scheduling class; returns the class it got ("idle" or "nice 19")."""
    if hasattr(os, "sched_setscheduler") and hasattr(os, "SCHED_IDLE"):
        try:
            os.sched_setscheduler(thread_id, os.SCHED_IDLE, os.sched_param(0))
            return "idle"
        except OSError as exc:
            log.warning("SCHED_IDLE refused (%s); nice 19 instead", exc)
    os.setpriority(os.PRIO_PROCESS, thread_id, 19)
    return "nice 19"
