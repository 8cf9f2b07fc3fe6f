"""Serving with several worker processes that share one loaded model (pre-fork), and the
scheduled retrain of a single-process service.

The master process loads the app (bundle, store) once, binds the socket and forks the workers,
so the model's arrays are shared copy-on-write. After the fork each worker drops the inherited
database connections (`engine.dispose(close=False)`: the master's stay valid) and opens its own,
and runs torch on one thread. The master serves nothing: it watches the bundle's generation
token, and when a new generation serves (a retrain job published it, a rollback, a deletion's
rewrite) it loads it, forks fresh workers, waits until they listen, then retires the old ones
(SIGUSR1: they stop accepting, then finish the requests they hold and exit); it also replaces a worker that dies, and starts the
scheduled retrain jobs (`--retrain-every`).
"""

from __future__ import annotations

import ctypes
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import uvicorn
from fastapi import FastAPI

from shoprec.data.errors import DataError
from shoprec.service.api_admin import start_retrain
from shoprec.service.background import yield_to_serving
from shoprec.service.context import ServiceContext
from shoprec.service.heap import freeze_heap
from shoprec.service.retrain_job import launch

log = logging.getLogger("shoprec.service")
T = TypeVar("T")
WATCH_EVERY_S = 0.5
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
RETIRE_GRACE_S = 1.0
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def parse_duration(text: str) -> float:
    """Seconds in "90s", "30m", "6h", "1d" (or a plain number of seconds)."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        seconds = float(text[:-1]) * units[text[-1]] if text[-1:] in units else float(text)
    except ValueError:
        seconds = -1.0
    if seconds <= 0:
        raise ValueError(f"duration {text!r}: expected a positive number with s, m, h or d, "
                         "e.g. 6h")
    return seconds


def serve_single(app: FastAPI, host: str, port: int, retrain_every_s: float | None = None) -> None:
    """One process: uvicorn in this process; its context follows new generations itself."""
    ctx: ServiceContext = app.state.ctx
    ctx.rehearse()  # listen only once the first request costs what the rest do
    one_torch_thread()
    freeze_heap(collect=True)
    if retrain_every_s:
        threading.Thread(target=_schedule_in_thread, args=(ctx, retrain_every_s),
                         daemon=True).start()
    uvicorn.run(app, host=host, port=port, **ctx.settings.uvicorn_options())


def _schedule_in_thread(ctx: ServiceContext, every_s: float) -> None:
    while True:
        time.sleep(every_s)
        _scheduled(lambda: start_retrain(ctx))


class _ReadyServer(uvicorn.Server):
    """A uvicorn server that tells the master (one byte down a pipe) when it listens, and that
    retires gently on SIGUSR1: it stops accepting at once (the other workers keep the shared
    socket), answers every request from then on with `Connection: close` (a keep-alive client
    then opens its next connection to a new worker instead of finding this one closed under
    it), gives connections it already accepted RETIRE_GRACE_S to send their request, then
    shuts down as on SIGTERM (finishing the requests in flight)."""

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
        if self.retiring_since is not None and time.monotonic() - self.retiring_since >= RETIRE_GRACE_S:
            self.should_exit = True
        return await super().on_tick(counter)


class Master:
    """Forks, watches and replaces the workers; see the module's docstring."""

    def __init__(self, app: FastAPI, sock: socket.socket, workers: int,
                 retrain_every_s: float | None = None) -> None:
        self.app, self.sock, self.n = app, sock, workers
        self.ctx: ServiceContext = app.state.ctx
        self.current: set[int] = set()
        self.retiring: set[int] = set()
        self.stopping = False
        self.retrain_every_s = retrain_every_s
        self.next_retrain = time.monotonic() + (retrain_every_s or 0)
        self.job: subprocess.Popen | None = None
        self.master_pid = os.getpid()

    def run(self) -> None:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        self.current = self._spawn_set()
        while not self.stopping:
            time.sleep(WATCH_EVERY_S)
            self._reap()
            if not self.stopping and self.ctx.disk_token() != self.ctx.token:
                self._roll()
            self._maybe_retrain()
        self._stop_all()

    def _stop(self, *_: object) -> None:
        self.stopping = True

    def _spawn(self) -> tuple[int, int]:
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            code = 0
            try:
                self._work(write_fd)
            except BaseException:
                log.exception("worker %d failed", os.getpid())
                code = 1
            finally:
                os._exit(code)
        os.close(write_fd)
        return pid, read_fd

    def _spawn_set(self) -> set[int]:
        """Fork `n` workers and wait until each listens (or died trying)."""
        if self.ctx.warming is not None:  # fork with no other thread running, index built once
            self.ctx.warming.join()
        freeze_heap(collect=True)  # the workers inherit a frozen heap (shared, never walked)
        started = [self._spawn() for _ in range(self.n)]
        deadline = time.monotonic() + READY_TIMEOUT_S
        waiting = {fd for _, fd in started}
        while waiting and time.monotonic() < deadline:
            ready, _, _ = select.select(list(waiting), [], [], 0.5)
            for fd in ready:  # one byte (listening) or end of file (died): either way, done
                os.read(fd, 1)
                waiting.discard(fd)
        for _, fd in started:
            os.close(fd)
        return {pid for pid, _ in started}

    def _work(self, ready_fd: int) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_DFL)
        _end_with(self.master_pid)
        self.ctx.store.engine.dispose(close=False)  # the master's connections are not ours
        one_torch_thread()
        self.ctx.rehearse()  # before it says it listens
        freeze_heap()
        config = uvicorn.Config(self.app, lifespan="on", **self.ctx.settings.uvicorn_options())
        server = _ReadyServer(config, ready_fd, self.ctx)
        signal.signal(signal.SIGUSR1, server.retire)
        server.run(sockets=[self.sock])

    def _reap(self) -> None:
        for pid in list(self.current | self.retiring):
            try:
                done, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done, status = pid, 0
            if done == 0:
                continue
            if pid in self.current:
                self.current.discard(pid)
                if not self.stopping:
                    log.warning("worker %d ended (status %d); starting another", pid, status)
                    self.current |= self._spawn_set_of(1)
            self.retiring.discard(pid)

    def _spawn_set_of(self, n: int) -> set[int]:
        saved, self.n = self.n, n
        try:
            return self._spawn_set()
        finally:
            self.n = saved

    def _roll(self) -> None:
        """Load what serves now, start workers on it, then retire the old ones. The load runs in
        a thread of the idle scheduling class (and so does the search warm-up it starts): the old
        workers keep the cores while it reads; the new workers are forked from this thread, at full priority."""
        failed: list[BaseException] = []

        def load() -> None:
            yield_to_serving()
            try:
                self.ctx.reload(refresh_catalogue=True)
            except BaseException as exc:  # noqa: BLE001 - raised again below, in this thread
                failed.append(exc)

        loader = threading.Thread(target=load, name="load-generation")
        loader.start()
        loader.join()
        try:
            if failed:
                raise failed[0]
        except Exception:
            log.exception("loading the new generation failed; the old workers keep serving")
            self.ctx.token = self.ctx.disk_token()
            return
        old, self.current = self.current, self._spawn_set()
        for pid in old:
            _signal(pid, signal.SIGUSR1)  # retire: stop accepting, finish, exit
        self.retiring |= old

    def _maybe_retrain(self) -> None:
        if self.job is not None and self.job.poll() is not None:
            self.job = None
        if not self.retrain_every_s or time.monotonic() < self.next_retrain:
            return
        self.next_retrain = time.monotonic() + self.retrain_every_s
        started = _scheduled(lambda: launch(self.ctx.bundle_dir, self.ctx.settings))
        if started is not None:
            self.job = started[1]

    def _stop_all(self) -> None:
        everyone = self.current | self.retiring
        for pid in everyone:
            _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while everyone and time.monotonic() < deadline:
            for pid in list(everyone):
                try:
                    if os.waitpid(pid, os.WNOHANG)[0]:
                        everyone.discard(pid)
                except ChildProcessError:
                    everyone.discard(pid)
            time.sleep(0.1)
        for pid in everyone:
            _signal(pid, signal.SIGKILL)
        self.ctx.close()


def _scheduled(start: Callable[[], T | None]) -> T | None:
    """A scheduled retrain's start, or None (logged) when a job runs or an experiment does."""
    try:
        started = start()
    except DataError as exc:
        log.warning("scheduled retrain skipped: %s", exc)
        return None
    if started is None:
        log.warning("scheduled retrain skipped: a retrain job is already running")
    else:
        log.info("scheduled retrain started")
    return started


def one_torch_thread() -> None:
    """Serving runs torch on one thread: a request's forward pass is dozens of tiny operations,
    where intra-op threads only add hand-offs; with two of them beside the event loop on a
    2-core machine the hybrid bundle answered 33 req/s at 1 client (p50 36 ms) instead of
    hundreds."""
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


def _end_with(master_pid: int) -> None:
    """Ask Linux to SIGTERM this worker when the master dies (even by kill -9), so no orphan
    keeps serving an old generation on the port; elsewhere the master's own stop must do."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return
    if os.getppid() != master_pid:  # the master died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def serve_prefork(app: FastAPI, host: str, port: int, workers: int,
                  retrain_every_s: float | None = None) -> None:
    """Bind, fork `workers` processes over the loaded app, and supervise them until SIGTERM."""
    ctx: ServiceContext = app.state.ctx
    ctx.follow_generations = False  # the master follows and replaces the workers
    ctx.workers = workers
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    Master(app, sock, workers, retrain_every_s).run()
