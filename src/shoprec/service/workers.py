"""`shoprec serve`: one process, or a master and N worker processes (pre-fork).

With several workers the master binds the socket and starts each worker as a fresh interpreter
(`service/worker_process.py`) that loads the bundle itself and accepts on the shared socket. The
master loads no model and serves nothing: it watches the bundle's generation token, and when a
new generation serves (a retrain job published it, a rollback, a deletion's rewrite, an
experiment started) it starts fresh workers, waits until they listen, then retires the old ones
(SIGUSR1: they stop accepting, finish the requests they hold and exit); it also replaces a worker
that dies, starts the scheduled retrain jobs (`--retrain-every`), and on SIGTERM stops every
worker within `shutdown_grace_s`, killing (and logging) any that does not.

Why not fork a loaded master (the first design): polars', OpenMP's and BLAS's thread pools do
not survive `fork()` after the master used them, and a worker's first polars filter then waited
forever (a shopper deletion hung). Measured in benchmarks/prefork.py: see its JSON for start-up
time and PSS before and after.
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from shoprec.data.errors import DataError
from shoprec.experiments.config import experiment_token
from shoprec.generations import generation_token
from shoprec.service.retrain_job import launch
from shoprec.service.settings import ServiceSettings

log = logging.getLogger("shoprec.service")
T = TypeVar("T")
WATCH_EVERY_S = 0.5
#: Longest a worker may take to load the bundle and listen before it counts as failed.
READY_TIMEOUT_S = 300.0
#: Longest a retiring worker may take to finish what it holds before it is killed.
RETIRE_TIMEOUT_S = 60.0


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
                 retrain_every_s: float | None = None) -> None:
    """One process: uvicorn in this process; its context follows new generations itself."""
    import uvicorn

    from shoprec.service.api_admin import start_retrain
    from shoprec.service.heap import freeze_heap
    from shoprec.service.startup import create_app_or_exit
    from shoprec.service.worker_process import one_torch_thread

    app = create_app_or_exit(bundle, settings)
    ctx = app.state.ctx
    ctx.rehearse()  # listen only once the first request costs what the rest do
    one_torch_thread()
    freeze_heap(collect=True)
    if retrain_every_s:
        def schedule() -> None:
            while True:
                time.sleep(retrain_every_s)
                _scheduled(lambda: start_retrain(ctx))

        threading.Thread(target=schedule, daemon=True).start()
    uvicorn.run(app, host=host, port=port, log_level="warning",
                timeout_graceful_shutdown=int(settings.shutdown_grace_s))


@dataclass
class Worker:
    proc: subprocess.Popen
    ready_fd: int
    ready: bool = False
    retired_at: float | None = field(default=None)

    @property
    def pid(self) -> int:
        return self.proc.pid


class Master:
    """Starts, watches and replaces the workers; see the module's docstring."""

    def __init__(self, bundle: Path, settings: ServiceSettings, sock: socket.socket,
                 workers: int, retrain_every_s: float | None = None) -> None:
        self.bundle, self.settings, self.sock, self.n = Path(bundle), settings, sock, workers
        self.current: list[Worker] = []
        self.retiring: list[Worker] = []
        self.stopping = False
        self.retrain_every_s = retrain_every_s
        self.next_retrain = time.monotonic() + (retrain_every_s or 0)
        self.job: subprocess.Popen | None = None
        self.token = self.disk_token()
        self.failed_status: int | None = None  # the last worker that could not start

    def disk_token(self) -> tuple[str, str]:
        return generation_token(self.bundle), experiment_token(self.bundle)

    def run(self) -> int:
        """Serve until SIGTERM or SIGINT; the exit status (a worker's, when none could start)."""
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        first = self._start(1)  # alone: it fills the embedding cache the others then read
        if not first:
            self._stop_all()
            return self.failed_status or 1
        self.current = first + self._start(self.n - 1)
        while not self.stopping:
            time.sleep(WATCH_EVERY_S)
            self._reap()
            if not self.stopping and self.disk_token() != self.token:
                self._roll()
            self._maybe_retrain()
        return self._stop_all()

    def _stop(self, *_: object) -> None:
        self.stopping = True

    def _spawn(self) -> Worker:
        read_fd, write_fd = os.pipe()
        proc = subprocess.Popen([sys.executable, "-m", "shoprec.service.worker_process"],
                                stdin=subprocess.PIPE, pass_fds=(self.sock.fileno(), write_fd))
        os.close(write_fd)
        order = {"bundle": str(self.bundle), "settings": self.settings.model_dump(mode="json"),
                 "listen_fd": self.sock.fileno(), "ready_fd": write_fd,
                 "master_pid": os.getpid(), "workers": self.n}
        assert proc.stdin is not None
        try:
            proc.stdin.write(json.dumps(order).encode() + b"\n")
            proc.stdin.close()
        except BrokenPipeError:
            pass  # it died at once; _start sees it
        return Worker(proc, read_fd)

    def _start(self, n: int) -> list[Worker]:
        """Start `n` workers and wait until each listens; those that died trying are dropped."""
        started = [self._spawn() for _ in range(n)]
        waiting = {w.ready_fd: w for w in started}
        deadline = time.monotonic() + READY_TIMEOUT_S
        while waiting and time.monotonic() < deadline and not self.stopping:
            ready, _, _ = select.select(list(waiting), [], [], 0.5)
            for fd in ready:  # one byte (listening) or end of file (died): either way, done
                waiting.pop(fd).ready = os.read(fd, 1) == b"1"
        for w in started:
            os.close(w.ready_fd)
            if not w.ready:
                self.failed_status = w.proc.poll()
                log.error("worker %d did not start%s", w.pid,
                          "" if w.proc.poll() is not None else " in time; stopping it")
                self._end(w)
        return [w for w in started if w.ready]

    def _end(self, worker: Worker, grace_s: float | None = None) -> None:
        """SIGTERM, then SIGKILL (logged) after the grace period."""
        if worker.proc.poll() is not None:
            return
        worker.proc.terminate()
        grace = self.settings.shutdown_grace_s if grace_s is None else grace_s
        try:
            worker.proc.wait(timeout=grace + 2)
        except subprocess.TimeoutExpired:
            log.warning("worker %d did not stop within %g s; killed", worker.pid, grace + 2)
            worker.proc.kill()
            worker.proc.wait()

    def _reap(self) -> None:
        for w in list(self.current):
            if w.proc.poll() is not None:
                self.current.remove(w)
                if not self.stopping:
                    log.warning("worker %d ended (status %s); starting another", w.pid,
                                w.proc.returncode)
                    self.current += self._start(1)
        now = time.monotonic()
        for w in list(self.retiring):
            if w.proc.poll() is not None:
                self.retiring.remove(w)
            elif w.retired_at is not None and now - w.retired_at > RETIRE_TIMEOUT_S:
                log.warning("retiring worker %d still busy after %g s; killed", w.pid,
                            RETIRE_TIMEOUT_S)
                w.proc.kill()

    def _roll(self) -> None:
        """Start workers on what serves now, then retire the old ones; when none of the new
        ones starts, the old ones keep serving (logged) until the next change."""
        self.token = self.disk_token()
        fresh = self._start(self.n)
        if not fresh:
            log.error("no worker could load the new generation; the old workers keep serving")
            return
        old, self.current = self.current, fresh
        for w in old:
            w.retired_at = time.monotonic()
            _signal(w.pid, signal.SIGUSR1)  # retire: stop accepting, finish, exit
        self.retiring += old

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
        """Stop every worker within the grace period (in parallel); killed ones are logged."""
        everyone = self.current + self.retiring
        for w in everyone:
            _signal(w.pid, signal.SIGTERM)
        threads = [threading.Thread(target=self._end, args=(w,)) for w in everyone]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.current, self.retiring = [], []
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


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def serve_prefork(bundle: Path, settings: ServiceSettings, host: str, port: int, workers: int,
                  retrain_every_s: float | None = None) -> int:
    """Bind, start `workers` processes on the socket, and supervise them until SIGTERM; the
    exit status (non-zero when the first worker could not open the bundle or the store)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return Master(bundle, settings, sock, workers, retrain_every_s).run()
