"""Generations of a bundle: what retraining publishes, what every worker serves, what rolls back.

The user's bundle folder `BUNDLE` is generation 0; retraining never writes into it. Its sibling
`BUNDLE.generations/` holds `g000001/`, `g000002/`, ... and a `current` symlink naming the one
that serves. The link is flipped with `os.replace` of a fresh link, so a reader sees either the
old generation or the new one, never neither. A process notices a change cheaply through
`generation_token` (the link plus the serving manifest's mtime, which a privacy deletion's
in-place rewrite also changes).

`files_lock` orders the changes of bundle files across processes (a deletion rewriting every
kept generation, a retrain job publishing one, a rollback, pruning).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from shoprec.data.errors import DataError

_NAME = re.compile(r"^g(\d{6})$")


def generations_dir(bundle: Path) -> Path:
    bundle = Path(bundle).resolve()
    return bundle.with_name(bundle.name + ".generations")


def generation_path(bundle: Path, generation: int) -> Path:
    """Where generation `generation` lives (0: the user's bundle folder itself)."""
    return Path(bundle).resolve() if generation == 0 else generations_dir(bundle) / f"g{generation:06d}"


def generations(bundle: Path) -> list[int]:
    """Every generation on disk, oldest first (always starting with 0)."""
    root = generations_dir(bundle)
    found = [int(m[1]) for p in (root.iterdir() if root.is_dir() else [])
             if (m := _NAME.match(p.name)) and (p / "manifest.json").is_file()]
    return [0, *sorted(found)]


def _link_target(bundle: Path) -> str | None:
    try:
        return os.readlink(generations_dir(bundle) / "current")
    except (FileNotFoundError, NotADirectoryError):
        return None


def serving_path(bundle: Path) -> tuple[int, Path]:
    """(generation, folder) that serves now: the `current` link's, else generation 0."""
    target = _link_target(bundle)
    m = _NAME.match(Path(target).name) if target else None
    if m is None:
        return 0, Path(bundle).resolve()
    return int(m[1]), generations_dir(bundle) / m[0]


def describe_serving(bundle: Path) -> str:
    """What serves, from its manifest alone (no model loaded): model@created#fingerprint and the
    generation; DataError when the folder is no bundle."""
    generation, path = serving_path(bundle)
    try:
        m = json.loads((path / "manifest.json").read_text())
    except (OSError, ValueError):
        raise DataError(f"{path}: not a bundle (no readable manifest.json); create one with "
                        "`shoprec train`") from None
    return (f"{m.get('model')}@{m.get('created')}#{m.get('fingerprint')}/g{generation} "
            f"(generation {generation})")


def generation_token(bundle: Path) -> str:
    """Changes whenever what serves changes: a flip of `current` or a rewrite of the serving
    manifest (a deletion). A readlink and a stat: cheap enough to ask twice a second."""
    target = _link_target(bundle) or ""
    _, path = serving_path(bundle)
    try:
        mtime = (path / "manifest.json").stat().st_mtime_ns
    except FileNotFoundError:
        mtime = 0
    return f"{target}:{mtime}"


@contextmanager
def files_lock(bundle: Path, shared: bool = False) -> Iterator[None]:
    """An exclusive (or shared, for readers) lock over every generation's files, held across
    processes with flock."""
    root = generations_dir(bundle)
    if shared and not root.is_dir():  # nothing published or rewritten through the lock yet
        yield
        return
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".files.lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _point(bundle: Path, generation: int) -> None:
    root = generations_dir(bundle)
    root.mkdir(parents=True, exist_ok=True)
    target = f"g{generation:06d}" if generation else os.path.join("..", Path(bundle).resolve().name)
    tmp = root / f".current.tmp-{os.getpid()}"
    tmp.unlink(missing_ok=True)
    os.symlink(target, tmp)
    os.replace(tmp, root / "current")


def publish(bundle: Path, write_fn: Callable[[Path], object]) -> int:
    """Write a new generation with `write_fn(folder)` into a staging folder, move it into place
    and make it serve; returns its number. The caller holds `files_lock` when deletions may run
    meanwhile (a retrain job does)."""
    root = generations_dir(bundle)
    root.mkdir(parents=True, exist_ok=True)
    generation = generations(bundle)[-1] + 1
    staging = root / f".g{generation:06d}.staging-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        write_fn(staging)
        manifest = staging / "manifest.json"
        if not manifest.is_file():
            raise RuntimeError(f"{staging}: the new generation has no manifest.json")
        manifest.write_text(json.dumps(json.loads(manifest.read_text()) | {"generation": generation},
                                       indent=2))
        staging.rename(generation_path(bundle, generation))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _point(bundle, generation)
    return generation


def keep_last(bundle: Path, n: int) -> list[int]:
    """Delete all but the `n` newest generations; generation 0 and the serving one are always
    kept. Returns the generations removed."""
    if n < 1:
        raise DataError(f"keep {n}: at least one generation must be kept")
    serving, _ = serving_path(bundle)
    published = [g for g in generations(bundle) if g > 0]
    removed = [g for g in published[: max(0, len(published) - n)] if g != serving]
    for g in removed:
        path = generation_path(bundle, g)
        trash = path.with_name(f".{path.name}.removing-{os.getpid()}")
        path.rename(trash)
        shutil.rmtree(trash, ignore_errors=True)
    return removed


def rollback(bundle: Path, to: int | None = None) -> int:
    """Serve generation `to` (default: the newest one older than the serving one); returns it."""
    serving, _ = serving_path(bundle)
    kept = generations(bundle)
    if to is None:
        older = [g for g in kept if g < serving]
        if not older:
            raise DataError(f"{bundle}: generation {serving} serves and there is no older one "
                            "to roll back to")
        to = older[-1]
    if to not in kept:
        raise DataError(f"{bundle}: no generation {to}; kept generations are "
                        f"{', '.join(map(str, kept))}")
    _point(bundle, to)
    return to
