"""Read one table file (csv, tsv, parquet, jsonl) with every column as text unless typed."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from shoprec.data.errors import DataError

SUFFIXES = (".csv", ".tsv", ".parquet", ".jsonl", ".csv.gz", ".tsv.gz", ".jsonl.gz")


def find_table(folder: Path, stem: str) -> Path | None:
    """The single `stem.<suffix>` file in `folder`, None if absent; error if several."""
    found = [folder / f"{stem}{s}" for s in SUFFIXES if (folder / f"{stem}{s}").is_file()]
    if len(found) > 1:
        raise DataError(f"{folder}: several {stem} files ({', '.join(p.name for p in found)}); keep one")
    return found[0] if found else None


def read_table(path: Path) -> pl.DataFrame:
    """Read `path`; string columns stay strings (ids are never parsed as numbers)."""
    name = path.name.lower()
    try:
        if name.endswith((".csv", ".csv.gz", ".tsv", ".tsv.gz")):
            sep = "\t" if ".tsv" in name else ","
            frame = pl.read_csv(path, separator=sep, infer_schema=False, quote_char='"')
        elif name.endswith(".parquet"):
            frame = pl.read_parquet(path)
        elif name.endswith((".jsonl", ".jsonl.gz")):
            frame = pl.read_ndjson(path, infer_schema_length=None)
        else:
            raise DataError(
                f"{path}: unknown file type; expected one of {', '.join(SUFFIXES)}"
            )
    except DataError:
        raise
    except Exception as exc:  # polars raises several types for broken files
        raise DataError(f"{path}: cannot be read as a table ({type(exc).__name__}: {exc})") from exc
    if frame.height == 0:
        raise DataError(f"{path}: the file has no rows")
    return frame
