"""A model's folder, written and read in one place for every model.

    model.json   {"class": "module:Class", "name", "version", "config": {...},
                  "files": {state name: file name}, "fitted": {...JSON metadata of the fit}}
    <name>.npy           a dense array          <name>.npz   a scipy sparse matrix
    <name>.safetensors   a torch state dict     <name>.json  a list of JSON values (texts)
    <name>/              a component model's own folder (a blend of models)

Each model only says which arrays it has (`Model._state` / `Model._restore`), so the files stay
plain for other tools to open and no model carries its own writing and reading code. Folders of
the older layout (params.json, or SASRec's config.json, beside the same array files) still load.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol, TypeVar, runtime_checkable

import numpy as np
import scipy.sparse as sp

#: what `Model._state` returns: name -> ndarray, scipy sparse matrix, torch state dict (a mapping
#: of names to tensors), list of JSON values, or a fitted component Model
State = dict[str, Any]


@runtime_checkable
class Saved(Protocol):
    """What this module needs of a model (`models.base.Model` has it): asked here instead of
    `Model` itself, so that base.py, which saves through this module, is not imported back."""

    def _state(self) -> State: ...
    def _restore(self, state: dict[str, Any], fitted: dict[str, Any]) -> None: ...
    def _fitted(self) -> dict[str, Any]: ...
    def _config_for(self, path: Path) -> dict[str, Any]: ...


M = TypeVar("M", bound=Saved)

HEADER = "model.json"
OLD_HEADERS = ("params.json", "config.json")
SUFFIXES = (".npy", ".npz", ".safetensors", ".json")


def class_path(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def write_model(model: Saved, path: Path) -> None:
    """model.json plus one file per state entry (sparse matrices uncompressed: ten times faster
    to write, which a deletion does at once, and faster to read)."""
    path.mkdir(parents=True, exist_ok=True)
    files = {name: _write(path, name, value) for name, value in model._state().items()}
    header = {"class": class_path(type(model)), "name": model.name, "version": model.version,
              "config": model._config_for(path), "files": files, "fitted": model._fitted()}
    (path / HEADER).write_text(json.dumps(header, indent=2, ensure_ascii=False))


def read_model(path: Path, cls: type[M]) -> M:
    """The model saved in `path`; the class written there must be `cls` or a subclass of it."""
    header = read_header(path)
    written = header.get("class")
    if not written and getattr(cls, "name", None) is None:
        raise ValueError(f"{path}: the older layout names no model class; load it with the "
                         "model's own class (ItemKNN.load) or through its bundle")
    kind: type[M] = _import(written, path) if written else cls
    if not (isinstance(kind, type) and issubclass(kind, cls)):
        raise TypeError(f"{path}: holds a {written} model, not a {class_path(cls)}")
    version = header.get("version", 1)
    if version != kind.version:
        raise ValueError(f"{path}: written as version {version} of {kind.__name__}'s files, this "
                         f"shoprec reads version {kind.version}; train the model again")
    model = kind(kind._config_from(dict(header.get("config", {})), path))
    files = header["files"] if "files" in header else _scan(path)  # the older layout: scan
    state = {name: _read(path / file, name in kind.mmap) for name, file in files.items()}
    model._restore(state, dict(header.get("fitted", {})))
    return model


def read_header(path: Path) -> dict[str, Any]:
    """model.json, or the same fields rebuilt from the older layout's params.json/config.json."""
    if (path / HEADER).is_file():
        return json.loads((path / HEADER).read_text())
    if (path / "params.json").is_file():
        return {"config": json.loads((path / "params.json").read_text())}
    if (path / "config.json").is_file():  # SASRec: {"params": ..., then the fit's metadata}
        old = json.loads((path / "config.json").read_text())
        return {"config": old.pop("params"), "fitted": old}
    if (path / "hybrid.json").is_file():  # its components named no class: not worth guessing
        raise ValueError(f"{path}: a hybrid saved before {HEADER} existed; train it again")
    raise FileNotFoundError(f"{path}: not a saved model (no {HEADER}); save one with `shoprec "
                            "train` or Model.save")


def _write(path: Path, name: str, value: Any) -> str:
    if isinstance(value, Saved):
        write_model(value, path / name)
        return f"{name}/"
    if sp.issparse(value):
        sp.save_npz(path / f"{name}.npz", sp.csr_matrix(value), compressed=False)
        return f"{name}.npz"
    if isinstance(value, np.ndarray):
        np.save(path / f"{name}.npy", value)
        return f"{name}.npy"
    if isinstance(value, Mapping):
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in value.items()}, str(path / f"{name}.safetensors"))
        return f"{name}.safetensors"
    if isinstance(value, list):
        (path / f"{name}.json").write_text(json.dumps(value, ensure_ascii=False))
        return f"{name}.json"
    raise TypeError(f"state entry {name!r}: cannot write a {type(value).__name__}")


def _read(file: Path, mmap: bool = False) -> Any:
    if file.is_dir():
        return read_model(file, Saved)
    if file.suffix == ".npz":
        return sp.load_npz(file).tocsr()
    if file.suffix == ".npy":
        return np.load(file, mmap_mode="r" if mmap else None)
    if file.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(file))
    return json.loads(file.read_text())


def _scan(path: Path) -> dict[str, str]:
    """The older layout names no files: every array file in the folder is a state entry."""
    return {f.stem: f.name for f in sorted(path.iterdir())
            if f.is_file() and f.suffix in SUFFIXES and f.name not in (HEADER, *OLD_HEADERS)}


#: classes written under an older module path -> where they live now (folders keep loading)
MOVED_CLASSES = {"shoprec.models.sequential:SASRec": "shoprec.models.sasrec:SASRec"}


def _import(target: str, path: Path) -> type:
    module, _, name = MOVED_CLASSES.get(target, target).partition(":")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        raise ValueError(f"{path}: model class {target} does not exist in this shoprec") from None
