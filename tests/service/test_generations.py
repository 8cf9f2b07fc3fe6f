"""Generations of a bundle on disk: publish, the serving link, keep-last, rollback, the token."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from shoprec.data.errors import DataError
from shoprec.generations import (
    generation_path,
    generation_token,
    generations,
    keep_last,
    publish,
    rollback,
    serving_path,
)


def _writer(label: str):
    def write(folder: Path) -> None:
        folder.mkdir()
        (folder / "manifest.json").write_text(json.dumps({"label": label}))

    return write


def _label(path: Path) -> str:
    return json.loads((path / "manifest.json").read_text())["label"]


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    _writer("original")(tmp_path / "shop")
    return tmp_path / "shop"


def test_publish_flips_the_link_and_never_touches_generation_zero(bundle: Path) -> None:
    assert serving_path(bundle) == (0, bundle.resolve()) and generations(bundle) == [0]
    assert publish(bundle, _writer("one")) == 1
    generation, path = serving_path(bundle)
    assert generation == 1 and _label(path) == "one"
    assert json.loads((path / "manifest.json").read_text())["generation"] == 1
    assert _label(bundle) == "original"
    assert os.readlink(bundle.with_name("shop.generations") / "current") == "g000001"
    assert publish(bundle, _writer("two")) == 2 and serving_path(bundle)[0] == 2


def test_a_failed_write_publishes_nothing(bundle: Path) -> None:
    def broken(folder: Path) -> None:
        folder.mkdir()
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        publish(bundle, broken)
    assert serving_path(bundle)[0] == 0 and generations(bundle) == [0]
    assert [p.name for p in bundle.with_name("shop.generations").iterdir()] == []


def test_keep_last_spares_generation_zero_and_the_serving_one(bundle: Path) -> None:
    for n in range(5):
        publish(bundle, _writer(f"g{n + 1}"))
    rollback(bundle, to=2)
    assert keep_last(bundle, 2) == [1, 3]
    assert generations(bundle) == [0, 2, 4, 5]
    assert serving_path(bundle) == (2, generation_path(bundle, 2))
    with pytest.raises(DataError, match="at least one"):
        keep_last(bundle, 0)


def test_rollback_defaults_to_the_previous_generation(bundle: Path) -> None:
    with pytest.raises(DataError, match="no older one"):
        rollback(bundle)
    publish(bundle, _writer("one"))
    publish(bundle, _writer("two"))
    assert rollback(bundle) == 1 and rollback(bundle) == 0
    assert serving_path(bundle) == (0, bundle.resolve())
    with pytest.raises(DataError, match="no generation 9; kept generations are 0, 1, 2"):
        rollback(bundle, to=9)
    assert rollback(bundle, to=2) == 2


def test_the_token_changes_on_a_flip_and_on_a_rewrite_of_the_serving_manifest(
        bundle: Path) -> None:
    first = generation_token(bundle)
    assert generation_token(bundle) == first
    publish(bundle, _writer("one"))
    second = generation_token(bundle)
    assert second != first
    manifest = serving_path(bundle)[1] / "manifest.json"
    stat = manifest.stat()
    os.utime(manifest, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert generation_token(bundle) not in (first, second)
