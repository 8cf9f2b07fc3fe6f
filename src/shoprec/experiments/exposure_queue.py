"""Exposure logging that costs a request almost nothing: an in-process queue, written in
batches by a background thread.

A request only appends a tuple to a deque (atomic under the GIL, no lock, no I/O); a thread
writes what has gathered every `every_s` seconds, or sooner once `batch` rows wait, in one
transaction. A process forked from one that logged starts its own thread on its first
record (threads do not survive a fork). When the store cannot take a batch, the rows are kept
for the next flush up to `max_pending`; beyond that the oldest are dropped and counted
(`dropped`): serving never waits for the log.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque

from sqlalchemy import Engine

from shoprec.store.experiment_tables import ExposureRow, add_assignments, add_exposures

log = logging.getLogger("shoprec.experiments")


class ExposureLog:
    def __init__(self, engine: Engine, enabled: bool = True, every_s: float = 0.5,
                 batch: int = 500, max_pending: int = 200_000) -> None:
        self.engine, self.enabled = engine, enabled
        self.every_s, self.batch, self.max_pending = every_s, batch, max_pending
        self._rows: deque[ExposureRow] = deque()
        self._assigned: deque[tuple[str, str, str, float]] = deque()
        self._seen: set[tuple[str, str]] = set()  # assignments this process already queued
        self._wake = threading.Event()
        self._write = threading.Lock()
        self._pid: int | None = None
        self._closed = False
        self.written = 0
        self.dropped = 0

    def record(self, row: ExposureRow) -> None:
        """Queue one served list (and the shopper's assignment, the first time it is seen)."""
        if not self.enabled:
            return
        if self._pid != os.getpid():
            self._start()
        self._rows.append(row)
        if row.experiment is not None and row.variant is not None and row.user_id is not None:
            key = (row.experiment, row.user_id)
            if key not in self._seen:
                if len(self._seen) > 1_000_000:
                    self._seen.clear()
                self._seen.add(key)
                self._assigned.append((row.experiment, row.user_id, row.variant, row.created_at))
        if len(self._rows) >= self.batch:
            self._wake.set()

    def forget(self, user_id: str) -> None:
        """Drop a deleted shopper's queued rows (this process's queue) before they are written."""
        with self._write:
            self._rows = deque(r for r in _drain(self._rows) if r.user_id != user_id)
            self._assigned = deque(a for a in _drain(self._assigned) if a[1] != user_id)

    def _start(self) -> None:
        self._pid = os.getpid()
        self._rows, self._assigned, self._seen = deque(), deque(), set()
        self._wake, self._write = threading.Event(), threading.Lock()
        threading.Thread(target=self._run, name="exposure-log", daemon=True).start()

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(self.every_s)
            self._wake.clear()
            try:
                self.flush()
            except Exception as exc:  # noqa: BLE001 - the store is down: keep, retry later
                log.warning("exposure log: flush failed, %d rows wait: %s", len(self._rows), exc)

    def flush(self) -> int:
        """Write everything queued now; returns the rows written (raises when the store does)."""
        with self._write:
            rows = _drain(self._rows)
            assigned = _drain(self._assigned)
            try:
                add_exposures(self.engine, rows)
                add_assignments(self.engine, assigned)
            except Exception:
                self._rows.extendleft(reversed(rows))
                self._assigned.extendleft(reversed(assigned))
                while len(self._rows) > self.max_pending:
                    self._rows.popleft()
                    self.dropped += 1
                raise
            self.written += len(rows)
            return len(rows)

    def close(self, timeout_s: float = 5.0) -> None:
        """Write what is left (best effort within `timeout_s`), then stop the thread."""
        self._closed = True
        self._wake.set()
        deadline = time.monotonic() + timeout_s
        while (self._rows or self._assigned) and time.monotonic() < deadline:
            try:
                self.flush()
            except Exception as exc:  # noqa: BLE001
                log.warning("exposure log: %d rows not written at close: %s", len(self._rows), exc)
                return


def _drain(queue: deque) -> list:
    out = []
    while True:
        try:
            out.append(queue.popleft())
        except IndexError:
            return out
