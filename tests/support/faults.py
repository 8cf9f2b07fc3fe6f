"""Real faults for reliability tests and benchmarks: a TCP proxy that can cut the database off,
an SQLite file locked by another process, SQLite files made immutable, a small file system
filled to the last byte, and a PostgreSQL database switched to read-only.

Nothing here is mocked: the service talks to the real database through a real socket (the
proxy), the lock is a real `BEGIN EXCLUSIVE` held by a second process, immutable is the file
system's own flag (`chattr +i`), full is a real tmpfs with no byte left, and read-only is
PostgreSQL's own `default_transaction_read_only`. The file-system faults need root (as the
test machines and CI run); without it they fail, saying so.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a target; `cut()` closes every connection and refuses new
    ones (the database is "down"), `restore()` lets them through again."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._open = threading.Event()
        self._open.set()
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            if not self._open.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        self._open.clear()
        with self._lock:
            conns, self._conns = self._conns, []
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass

    def restore(self) -> None:
        self._open.set()

    def close(self) -> None:
        self._stop = True
        self.cut()
        self._server.close()


_LOCKER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("ROLLBACK")
"""


@contextmanager
def sqlite_locked(path: str) -> Iterator[None]:
    """Another process holds SQLite's write lock on `path` until the block ends (a stalled
    writer: a backup, a long migration, a stuck job)."""
    proc = subprocess.Popen([sys.executable, "-c", _LOCKER, path], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked", "the locker could not take the lock"
        yield
    finally:
        proc.stdin.write("\n")
        proc.stdin.flush()
        proc.wait(timeout=30)


@contextmanager
def postgres_read_only(admin_url: str, database: str) -> Iterator[None]:
    """`database` becomes read-only for new sessions and its open sessions are ended (as a
    failover to a standby or a full disk would do); restored afterwards."""
    import sqlalchemy as sa

    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")

    def set_mode(on: bool) -> None:
        with engine.connect() as conn:
            conn.execute(sa.text(f'ALTER DATABASE "{database}" SET default_transaction_read_only '
                                 f'= {"on" if on else "off"}'))
            conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE datname = :db AND pid <> pg_backend_pid()"),
                         {"db": database})
        time.sleep(0.2)

    set_mode(True)
    try:
        yield
    finally:
        set_mode(False)
        engine.dispose()


@contextmanager
def postgres_scratch_database(admin_url: str, prefix: str = "shoprec_fault") -> Iterator[str]:
    """A new, empty PostgreSQL database for one fault scenario (read-only is set per database,
    so it must not be the shared test database); yields its URL and drops it afterwards, ending
    any session still open in it."""
    import uuid

    import sqlalchemy as sa

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.engine.make_url(admin_url).set(database=name).render_as_string(
            hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def rss_bytes(pid: int) -> int:
    """Resident memory of process `pid` (Linux /proc), for soak tests that watch for leaks."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def _run(*command: str) -> None:
    done = subprocess.run(command, check=False, capture_output=True, text=True)
    assert done.returncode == 0, f"{' '.join(command)} failed (root needed): {done.stderr.strip()}"


@contextmanager
def sqlite_immutable(path: Path) -> Iterator[None]:
    """The database file and its write-ahead log become immutable (`chattr +i`) while the
    service has them open, as a read-only remount or an operator's lock would leave them. The
    shared-memory index is left writable: SQLite maps it, and a mapped page of an immutable
    file kills the process with SIGBUS (seen here), which no error answer can report."""
    files = [str(p) for p in (path, Path(f"{path}-wal")) if p.exists()]
    _run("chattr", "+i", *files)
    try:
        yield
    finally:
        _run("chattr", "-i", *files)


@contextmanager
def small_disk(folder: Path, megabytes: int = 48) -> Iterator[Path]:
    """A tmpfs of `megabytes` mounted at `folder` for the block."""
    folder.mkdir(parents=True, exist_ok=True)
    _run("mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", str(folder))
    try:
        yield folder
    finally:
        _run("umount", "-l", str(folder))


@contextmanager
def disk_full(folder: Path) -> Iterator[None]:
    """The file system under `folder` has no byte left until the block ends (a filler file
    written until ENOSPC, then removed)."""
    filler = folder / "filler.bin"
    with open(filler, "wb", buffering=0) as out:
        for size in (1 << 16, 1 << 12, 1):  # big blocks, then the last pages
            try:
                while True:
                    out.write(b"\0" * size)
            except OSError:
                pass
    try:
        yield
    finally:
        filler.unlink()
