"""What a shopper has asked for so far in a chat, kept between turns (in the store, as JSON).

Apart from `chat` because the turn's parts (the hard limits, the phrasing) read it too, and they
are imported by `chat`, not the other way round.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Conversation:
    """What the shopper has asked for so far (JSON-able, kept in the store between turns)."""

    conversation_id: str
    user_id: str | None = None
    language: str = "en"
    text: str = ""  # the topic's content words (shown, and matched against titles)
    category: str | None = None
    brand: str | None = None
    min_price: float | None = None
    max_price: float | None = None
    exclude: list[str] = field(default_factory=list)
    recipient: str | None = None
    like_item: str | None = None
    shown: list[str] = field(default_factory=list)
    asked: bool = False
    turns: int = 0
    query: str = ""  # the topic's words as said, what the language model reads

    @classmethod
    def new(cls, user_id: str | None, language: str) -> Conversation:
        return cls(uuid.uuid4().hex, user_id, language)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Conversation:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)
