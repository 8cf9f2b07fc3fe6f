"""Download the data sets the demo and tests use from their public sources, verified and cached.

Why: a machine without the shared data folder must still run `make demo` and `make test`, and
must never run them on bytes other than the ones our published numbers were measured on. Every
original file is fetched from raw.githubusercontent.com at its pinned commit and checked against
the size and SHA-256 recorded in `published`; files under `derived/` are rebuilt from the
verified originals (`rebuild`) and checked the same way. A download goes to a temporary file
beside its target and is renamed into place only once verified, so a refused file never reaches
the cache.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from shoprec.data.errors import DataError

# DATASETS too: the CLI's fetch-data command takes the table from here, beside `fetch`
from shoprec.data.published import DATASETS, Derived, Remote, Spec, cache_data_dir, spec_of

if TYPE_CHECKING:  # httpx is imported only when something is downloaded (keeps imports light)
    import httpx

__all__ = ["DATASETS", "FileStatus", "fetch"]

#: Base URL laid out as `/{repo}/{commit}/{path}`; SHOPREC_DATA_MIRROR or `mirror=` replaces it.
DEFAULT_MIRROR = "https://raw.githubusercontent.com"


@dataclass(frozen=True)
class FileStatus:
    """One row of `shoprec fetch-data`: ok (in SHOPREC_DATA_DIR), cached, fetched or built; size
    in bytes on disk."""

    name: str
    size: int
    status: str


def _digest(chunks: Iterable[bytes]) -> tuple[int, str]:
    size, h = 0, hashlib.sha256()
    for chunk in chunks:
        size += len(chunk)
        h.update(chunk)
    return size, h.hexdigest()


def _file_digest(path: Path, decompress: bool = False) -> tuple[int, str]:
    try:
        with (gzip.open if decompress else open)(path, "rb") as f:
            return _digest(iter(lambda: f.read(1 << 20), b""))
    except (gzip.BadGzipFile, EOFError):  # a damaged .gz counts as a mismatch, not a crash
        return path.stat().st_size, "(not a readable gzip file)"


def _check(name: str, source: str, want: tuple[int, str], got: tuple[int, str],
           outcome: str = "the file was not saved") -> None:
    if got != want:
        raise DataError(f"{name}: {source} does not match the recorded checksum: expected "
                        f"{want[0]} bytes sha256 {want[1]}, got {got[0]} bytes sha256 {got[1]}; "
                        f"{outcome}")


_KEPT = "left as it is (delete it, or unset SHOPREC_DATA_DIR to use the verified cache)"


def _write_atomic(target: Path, chunks: Iterable[bytes], check: Callable[[tuple[int, str]], None],
                  ) -> None:
    """Stream `chunks` to a temporary file beside `target`; rename it there only if `check`
    accepts its (size, sha256), so readers never see a partial or refused file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            def tee() -> Iterable[bytes]:
                for chunk in chunks:
                    out.write(chunk)
                    yield chunk
            check(_digest(tee()))
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _download(http: httpx.Client, url: str, item: Remote, target: Path) -> None:
    import httpx

    def body() -> Iterable[bytes]:
        with http.stream("GET", url) as response:
            if response.status_code != 200:
                raise DataError(f"{item.name}: {url} answered HTTP {response.status_code}")
            seen = 0
            for chunk in response.iter_bytes():
                seen += len(chunk)
                if seen > item.size:  # never store more than the file we expect
                    raise DataError(f"{item.name}: {url} sent more than the expected "
                                    f"{item.size} bytes sha256 {item.sha256}; not saved")
                yield chunk

    try:
        _write_atomic(target, body(),
                      lambda got: _check(item.name, url, (item.size, item.sha256), got))
    except httpx.HTTPError as exc:
        raise DataError(f"{item.name}: could not download {url}: {exc}") from exc


def fetch(name: str, root: Path | None = None, mirror: str | None = None,
          client: httpx.Client | None = None) -> list[FileStatus]:
    """Make data set `name` complete and verified under `root` (default: the cache).

    Files already there are re-hashed: in the cache a wrong one is fetched again ("cached" when
    right); in a folder the user gave (`root`) a wrong one is an error, never overwritten ("ok"
    when right). Missing files are downloaded from `mirror` (SHOPREC_DATA_MIRROR, else GitHub).
    """
    import httpx

    spec = spec_of(name)
    folder = (root or cache_data_dir()) / spec.folder
    present = "cached" if root is None else "ok"
    base = (mirror or os.environ.get("SHOPREC_DATA_MIRROR") or DEFAULT_MIRROR).rstrip("/")
    rows: list[FileStatus] = []
    owned = (contextlib.nullcontext(client) if client is not None
             else httpx.Client(timeout=60.0, follow_redirects=True))
    try:
        with owned as http:
            for item in spec.remote:
                target, want = folder / item.name, (item.size, item.sha256)
                got = _file_digest(target) if target.is_file() else None
                if got == want:
                    rows.append(FileStatus(item.name, item.size, present))
                    continue
                if got is not None and root is not None:
                    _check(item.name, str(target), want, got, _KEPT)
                _download(http, f"{base}/{item.repo}/{item.commit}/{item.path}", item, target)
                rows.append(FileStatus(item.name, item.size, "fetched"))
        rows += _derive(spec, folder, present, user_folder=root is not None)
    except OSError as exc:  # e.g. a read-only SHOPREC_DATA_DIR
        raise DataError(f"cannot write data set {name!r} into {folder}: {exc}") from exc
    finally:
        for empty in (folder / "derived", folder) if root is None else ():
            with contextlib.suppress(OSError):  # a failed first fetch leaves no empty folders
                empty.rmdir()
    return rows


def _derive(spec: Spec, folder: Path, present: str, user_folder: bool) -> list[FileStatus]:
    """Rebuild the derived files of `spec` in `folder` unless all are there and verified."""
    def digest(d: Derived) -> tuple[int, str] | None:
        path = folder / d.name
        return _file_digest(path, d.name.endswith(".gz")) if path.is_file() else None

    got = {d.name: digest(d) for d in spec.derived}
    if all(got[d.name] == (d.size, d.sha256) for d in spec.derived):
        return [FileStatus(d.name, (folder / d.name).stat().st_size, present) for d in spec.derived]
    for d in spec.derived:
        seen = got[d.name]
        if user_folder and seen is not None:
            _check(d.name, str(folder / d.name), (d.size, d.sha256), seen, _KEPT)
    assert spec.build is not None  # a Spec with derived files always has its recipe
    built = spec.build(folder)
    rows = []
    for d in spec.derived:
        content = built[d.name]
        _check(d.name, f"the rebuilt {d.name}", (d.size, d.sha256), _digest([content]))
        data = gzip.compress(content, compresslevel=9, mtime=0) if d.name.endswith(".gz") else content
        _write_atomic(folder / d.name, [data], lambda _: None)
        rows.append(FileStatus(d.name, len(data), "built"))
    return rows
