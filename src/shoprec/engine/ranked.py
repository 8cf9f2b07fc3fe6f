"""One item of an answer: what recommending, similar items and search all return."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Ranked:
    item_id: str
    score: float
    reason: str | None
