"""One worker of `shoprec serve --workers N`: a fresh interpreter that loads the bundle itself.

The master starts it with `python -m shoprec.service.worker_process` and writes one JSON line to
its stdin: the bundle, the settings (the key included: stdin, unlike the command line or the
environment, is not readable by other users), the listening socket's descriptor, the pipe on
which to say "listening" (one byte), the master's pid and the worker count.

Why a fresh interpreter and not a fork of a loaded master: polars', OpenMP's and BLAS's thread
pools do not survive `fork()` once the parent used them. A forked worker's first polars filter
(a shopper deletion) waited forever for pool threads that exist only in the master. A fresh
process starts every pool itself, so no library has to be fork-safe.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import signal
import socket
import sys
import time

import uvicorn

from shoprec.service.context import ServiceContext
from shoprec.service.heap import freeze_heap
from shoprec.service.settings import ServiceSettings
from shoprec.service.startup import create_app_or_exit

log = logging.getLogger("shoprec.service")
#: How long a retiring worker gives connections it already accepted to send their request.
RETIRE_GRACE_S = 1.0
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


class ReadyServer(uvicorn.Server):
    """A uvicorn server that tells the master (one byte down a pipe) when it listens, and that
    retires gently on SIGUSR1: it stops accepting at once (the other workers keep the shared
    socket), answers every request from then on with `Connection: close` (a keep-alive client
    then opens its next connection to a new worker instead of finding this one closed under
    it), gives connections it already accepted RETIRE_GRACE_S to send their request, then
    shuts down as on SIGTERM (finishing the requests in flight, within the grace period)."""

    def __init__(self, config: uvicorn.Config, ready_fd: int, ctx: ServiceContext) -> None:
        super().__init__(config)
        self.ready_fd, self.ctx = ready_fd, ctx
        self.retire_asked = False
        self.retiring_since: float | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        os.write(self.ready_fd, b"1")
        os.close(self.ready_fd)

    def retire(self, *_: object) -> None:
        self.retire_asked = True  # a signal handler only sets a flag; the loop acts on it

    async def on_tick(self, counter: int) -> bool:
        if self.retire_asked and self.retiring_since is None:
            self.ctx.retiring = True
            for server in self.servers:
                server.close()
            self.retiring_since = time.monotonic()
        if (self.retiring_since is not None
                and time.monotonic() - self.retiring_since >= RETIRE_GRACE_S):
            self.should_exit = True
        return await super().on_tick(counter)


def one_torch_thread() -> None:
    """Serving runs torch on one thread: a request's forward pass is dozens of tiny operations,
    where intra-op threads only add hand-offs; with two of them beside the event loop on a
    2-core machine the hybrid bundle answered 33 req/s at 1 client (p50 36 ms) instead of
    hundreds."""
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


def end_with(master_pid: int) -> None:
    """Ask Linux to SIGTERM this worker when the master dies (even by kill -9), so no orphan
    keeps serving an old generation on the port; elsewhere the master's own stop must do."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return
    if os.getppid() != master_pid:  # the master died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)


def main() -> None:
    order = json.loads(sys.stdin.readline())
    end_with(order["master_pid"])
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    settings = ServiceSettings(**order["settings"])
    app = create_app_or_exit(order["bundle"], settings)
    ctx: ServiceContext = app.state.ctx
    ctx.follow_generations = False  # the master follows generations and replaces the workers
    ctx.workers = order["workers"]
    one_torch_thread()
    ctx.rehearse()  # the first request costs what the rest do, before it says it listens
    freeze_heap(collect=True)
    config = uvicorn.Config(app, log_level="warning", lifespan="on",
                            timeout_graceful_shutdown=int(settings.shutdown_grace_s))
    server = ReadyServer(config, order["ready_fd"], ctx)
    signal.signal(signal.SIGUSR1, server.retire)
    server.run(sockets=[socket.socket(fileno=order["listen_fd"])])


if __name__ == "__main__":
    main()
