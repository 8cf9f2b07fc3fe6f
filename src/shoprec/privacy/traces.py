"""Where a shopper's id still appears in a folder of files (a bundle): the check behind "delete me".

Parquet files are decoded and text columns compared cell by cell (compressed pages would hide a
byte search); JSON files are parsed and keys and string values compared; any other file is
searched byte for byte. Short ids (fewer than `MIN_FREE_ID_LENGTH` characters, e.g. Beauty's
"18") collide with item ids, counts and bytes by chance, so for them only user fields are
checked: Parquet columns and JSON keys whose name says user, shopper, customer or visitor.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl

MIN_FREE_ID_LENGTH = 8
USER_WORDS = ("user", "shopper", "customer", "visitor")


def _user_field(name: str) -> bool:
    return any(word in name.lower() for word in USER_WORDS)


def find_user_traces(folder: Path, user_id: str) -> list[str]:
    """Places ("file: column" or "file") in `folder` where `user_id` appears; empty when none."""
    anywhere = len(user_id) >= MIN_FREE_ID_LENGTH
    found = []
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        rel = str(path.relative_to(folder))
        if path.suffix == ".parquet":
            frame = pl.read_parquet(path)
            for column, dtype in frame.schema.items():
                if (anywhere or _user_field(column)) and dtype == pl.String \
                        and (frame[column] == user_id).any():
                    found.append(f"{rel}: {column}")
        elif path.suffix == ".json":
            if _json_has(json.loads(path.read_text()), user_id, anywhere):
                found.append(rel)
        elif anywhere and user_id.encode() in path.read_bytes():
            found.append(rel)
    return found


def _json_has(value: Any, needle: str, anywhere: bool) -> bool:
    if isinstance(value, str):
        return anywhere and value == needle
    if isinstance(value, dict):
        return any((anywhere and k == needle)
                   or (not anywhere and _user_field(k) and _json_has(v, needle, True))
                   or _json_has(v, needle, anywhere) for k, v in value.items())
    if isinstance(value, list):
        return any(_json_has(v, needle, anywhere) for v in value)
    return False
