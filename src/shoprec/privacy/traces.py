"""Where a shopper's id still appears in a folder of files (a bundle): the check behind "delete me".

Parquet files are decoded and every text column is compared cell by cell (compressed pages
would hide a byte search); JSON files are parsed and every key and string value compared; any
other file is searched byte for byte, but only for ids of at least `MIN_RAW_ID_LENGTH`
characters, since a short numeric id such as "42" occurs by chance in any binary file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl

MIN_RAW_ID_LENGTH = 8


def find_user_traces(folder: Path, user_id: str) -> list[str]:
    """Places ("file: column" or "file") in `folder` where `user_id` appears; empty when none."""
    found = []
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        rel = str(path.relative_to(folder))
        if path.suffix == ".parquet":
            frame = pl.read_parquet(path)
            for column, dtype in frame.schema.items():
                if dtype == pl.String and (frame[column] == user_id).any():
                    found.append(f"{rel}: {column}")
        elif path.suffix == ".json":
            if _json_has(json.loads(path.read_text()), user_id):
                found.append(rel)
        elif len(user_id) >= MIN_RAW_ID_LENGTH and user_id.encode() in path.read_bytes():
            found.append(rel)
    return found


def _json_has(value: Any, needle: str) -> bool:
    if isinstance(value, str):
        return value == needle
    if isinstance(value, dict):
        return any(k == needle or _json_has(v, needle) for k, v in value.items())
    if isinstance(value, list):
        return any(_json_has(v, needle) for v in value)
    return False
