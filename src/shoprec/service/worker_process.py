"""One worker of `shoprec serve --workers N`: a fresh interpreter that loads the bundle itself.

The master starts it with `python -m shoprec.service.worker_process` and writes one JSON line to
its stdin: the bundle, the settings (the key included: stdin, unlike the command line or the
environment, is not readable by other users), the listening socket's descriptor, the pipe on
which to say "listening" (one byte), the master's pid and the worker count.

Why a fresh interpreter and not a fork of a loaded master: see `service/workers.py`.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import signal
import socket
import sys

import uvicorn

from shoprec.service.context import ServiceContext
from shoprec.service.gc_freeze import freeze_heap
from shoprec.service.settings import ServiceSettings
from shoprec.service.startup import create_app_or_exit

log = logging.getLogger("shoprec.service")
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


class ReadyServer(uvicorn.Server):
    """A uvicorn server that tells the master (one byte down a pipe) when it listens."""

    def __init__(self, config: uvicorn.Config, ready_fd: int) -> None:
        super().__init__(config)
        self.ready_fd = ready_fd

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        os.write(self.ready_fd, b"1")
        os.close(self.ready_fd)


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
    ctx.workers = order["workers"]
    one_torch_thread()
    ctx.state.rehearse()  # a recommendation costs what the rest do before it says it listens;
    # the search index is still being built in the background (service/warming.py)
    freeze_heap(collect=True)
    config = uvicorn.Config(app, lifespan="on", **settings.uvicorn_options())
    ReadyServer(config, order["ready_fd"]).run(sockets=[socket.socket(fileno=order["listen_fd"])])


if __name__ == "__main__":
    main()
