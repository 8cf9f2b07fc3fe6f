"""`shoprec serve`: one process, or a master and N worker processes (pre-fork).

With several workers the master binds the socket and starts each worker as a fresh interpreter
(`service/worker_process.py`) that loads the bundle itself and accepts on the shared socket. Each
worker then behaves as the single process does: it notices a new generation or experiment on
disk (`ServingState.check_generation`) and swaps it in, in a background thread, while it keeps
answering. The master loads no model and serves nothing: it replaces a worker that dies, starts
the scheduled retrain jobs (`--retrain-every`), and on SIGTERM stops every worker within
`shutdown_grace_s`, killing (and logging) any that does not.

Why fresh interpreters, not forks of a loaded master (the first design): polars', OpenMP's and
BLAS's thread pools do not survive `fork()` after the master used them, and a forked worker's
first polars filter then waited forever (a shopper deletion hung). With nothing shared by a fork,
a master-side load of each new generation bought nothing either, so the workers follow
generations themselves: a new generation serves as soon as a worker has loaded it (no new
interpreter to start), and a client's next request on the same connection sees what its write
changed. Start-up time and PSS, fork against spawn: benchmarks/prefork.py.
"""

from __future__ import annotations

import json
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
from pathlib import Path
from typing import NamedTuple, TypeVar

from shoprec.data.errors import DataError
from shoprec.service.retrain_job import launch
from shoprec.service.settings import ServiceSettings

log = logging.getLogger("shoprec.service")
T = TypeVar("T")
WATCH_EVERY_S = 0.5
#: Longest a worker may take to load the bundle and listen before it counts as failed.
READY_TIMEOUT_S = 300.0


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


def serve_single(bundle: Path, settings: ServiceSettings, host: str, port: int,
                 retrain_every_s: float | None = None,
                 on_ready: Callable[[], None] | None = None) -> None:
    """One process: uvicorn in this process; its context follows new generations itself.
    `on_ready` runs once the store is open (and seeded), before it listens."""
    import uvicorn

    from shoprec.service.gc_freeze import freeze_heap
    from shoprec.service.retrain_watch import start_retrain
    from shoprec.service.startup import create_app_or_exit
    from shoprec.service.worker_process import one_torch_thread

    app = create_app_or_exit(bundle, settings)
    ctx = app.state.ctx
    ctx.state.rehearse()  # listen once a recommendation costs what the rest do (search: warming.py)
    one_torch_thread()
    freeze_heap(collect=True)
    if on_ready is not None:
        on_ready()
    if retrain_every_s:
        def schedule() -> None:
            while True:
                time.sleep(retrain_every_s)
                _scheduled(lambda: start_retrain(ctx.bundle_dir, settings,
                                                ctx.telemetry.metrics.retrains))

        threading.Thread(target=schedule, daemon=True).start()
    uvicorn.run(app, host=host, port=port, **settings.uvicorn_options())


class Spawned(NamedTuple):
    """A worker interpreter, the pipe end on which it says it listens, and that pipe's other
    end's number in the worker."""

    proc: subprocess.Popen
    read_fd: int
    ready_fd: int


class Master:
    """Starts the workers, replaces any that dies, runs the retrain schedule, stops them all."""

    def __init__(self, bundle: Path, settings: ServiceSettings, sock: socket.socket,
                 workers: int, retrain_every_s: float | None = None,
                 on_ready: Callable[[], None] | None = None) -> None:
        self.bundle, self.settings, self.sock, self.n = Path(bundle), settings, sock, workers
        self.on_ready = on_ready
        self.current: list[subprocess.Popen] = []
        self.stopping = False
        self.retrain_every_s = retrain_every_s
        self.next_retrain = time.monotonic() + (retrain_every_s or 0)
        self.job: subprocess.Popen | None = None
        self.failed_status: int | None = None  # the last worker that could not start

    def run(self) -> int:
        """Serve until SIGTERM or SIGINT; the exit status (a worker's, when none could start)."""
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        # the first is ordered alone: it opens (and seeds) the store before the others do; it
        # listens once the bundle is loaded, its search warm-up still running
        # (service/warming.py), and the others' warm-ups wait for its encoding at the embedding
        # cache's lock, then read it. The others' interpreters start meanwhile (imports are
        # most of a start: ~3 s of CPU each) and get their orders once the first listens.
        first = [self._spawn()]
        others = [self._spawn() for _ in range(self.n - 1)]
        self.current = self._start(first)
        if not self.current:
            for worker in others:
                os.close(worker.read_fd)
                self._end(worker.proc)
            return 0 if self.stopping else self.failed_status or 1
        if self.on_ready is not None:  # the first worker opened (and seeded) the store
            self.on_ready()
        self.current += self._start(others)
        while not self.stopping:
            time.sleep(WATCH_EVERY_S)
            self._reap()
            self._maybe_retrain()
        return self._stop_all()

    def _stop(self, *_: object) -> None:
        self.stopping = True

    def _spawn(self) -> Spawned:
        """A worker interpreter that imports, then waits for its order (`_order`)."""
        read_fd, write_fd = os.pipe()
        proc = subprocess.Popen([sys.executable, "-m", "shoprec.service.worker_process"],
                                stdin=subprocess.PIPE, pass_fds=(self.sock.fileno(), write_fd))
        os.close(write_fd)  # the worker holds its copy, under the same number
        return Spawned(proc, read_fd, write_fd)

    def _order(self, worker: Spawned) -> None:
        """Tell a spawned worker what to serve: one JSON line on its stdin."""
        order = {"bundle": str(self.bundle), "settings": self.settings.model_dump(mode="json"),
                 "listen_fd": self.sock.fileno(), "ready_fd": worker.ready_fd,
                 "master_pid": os.getpid(), "workers": self.n}
        assert worker.proc.stdin is not None
        try:
            worker.proc.stdin.write(json.dumps(order).encode() + b"\n")
            worker.proc.stdin.close()
        except BrokenPipeError:
            pass  # it died at once; _start sees it

    def _start(self, started: list[Spawned]) -> list[subprocess.Popen]:
        """Order the `started` workers and wait until each listens; those that died trying are
        dropped."""
        for worker in started:
            self._order(worker)
        waiting = {w.read_fd: w.proc for w in started}
        ready: list[subprocess.Popen] = []
        deadline = time.monotonic() + READY_TIMEOUT_S
        while waiting and time.monotonic() < deadline and not self.stopping:
            readable, _, _ = select.select(list(waiting), [], [], 0.5)
            for fd in readable:  # one byte (listening) or end of file (died): either way, done
                proc = waiting.pop(fd)
                if os.read(fd, 1) == b"1":
                    ready.append(proc)
        for proc, fd, _ in started:
            os.close(fd)
            if proc not in ready:
                log.error("worker %d did not start%s", proc.pid,
                          "" if proc.poll() is not None else " in time; stopping it")
                self._end(proc)
                self.failed_status = proc.returncode
        return ready

    def _end(self, proc: subprocess.Popen) -> None:
        """SIGTERM, then SIGKILL (logged) once the grace period is over."""
        if proc.poll() is not None:
            return
        proc.terminate()
        limit = self.settings.shutdown_grace_s + 2
        try:
            proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            log.warning("worker %d did not stop within %g s; killed", proc.pid, limit)
            proc.kill()
            proc.wait()

    def _reap(self) -> None:
        for proc in list(self.current):
            if proc.poll() is not None:
                self.current.remove(proc)
                if not self.stopping:
                    log.warning("worker %d ended (status %s); starting another", proc.pid,
                                proc.returncode)
                    self.current += self._start([self._spawn()])

    def _maybe_retrain(self) -> None:
        if self.job is not None and self.job.poll() is not None:
            self.job = None
        if not self.retrain_every_s or time.monotonic() < self.next_retrain:
            return
        self.next_retrain = time.monotonic() + self.retrain_every_s
        started = _scheduled(lambda: launch(self.bundle, self.settings))
        if started is not None:
            self.job = started[1]

    def _stop_all(self) -> int:
        """Stop every worker (in parallel) within the grace period; killed ones are logged."""
        threads = [threading.Thread(target=self._end, args=(p,)) for p in self.current]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.current = []
        return 0


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


def serve_prefork(bundle: Path, settings: ServiceSettings, host: str, port: int, workers: int,
                  retrain_every_s: float | None = None,
                  on_ready: Callable[[], None] | None = None) -> int:
    """Bind, start `workers` processes on the socket, and supervise them until SIGTERM; the
    exit status (non-zero when the first worker could not open the bundle or the store)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return Master(bundle, settings, sock, workers, retrain_every_s, on_ready).run()
