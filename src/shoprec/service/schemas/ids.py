"""Ids, the event and item vocabularies and the path and query parameters every route shares.

Ids are restricted to a safe alphabet so they travel in URLs and logs unescaped.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from fastapi import Path, Query

from shoprec.data.events import API_EVENT_TYPES
from shoprec.store.records import ITEM_TYPES

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:@+\-]{0,127}$"
ID_RULE = "1-128 characters: letters, digits and _ . : @ + - (starting with a letter or digit)"
EventType = Literal[API_EVENT_TYPES]  # the one vocabulary: shoprec.data.events
EVENT_TYPES: tuple[str, ...] = EventType.__args__  # type: ignore[attr-defined]
ItemType = Literal[ITEM_TYPES]  # product, article, video, ad
Surface = Literal["feed", "search", "similar", "chat", "ad"]
REQUEST_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


def is_valid_id(value: str) -> bool:
    return re.fullmatch(ID_PATTERN, value) is not None


# Ids in paths and queries follow the same rule as in bodies: a NUL byte, a slash or markup in an
# id is refused with 422 on every endpoint, reads included, before it reaches the database.
UserIdPath = Annotated[str, Path(pattern=ID_PATTERN, description=ID_RULE)]
ItemIdPath = Annotated[str, Path(pattern=ID_PATTERN, description=ID_RULE)]
UserIdQuery = Annotated[str | None, Query(pattern=ID_PATTERN, description=ID_RULE)]


MAX_K = 100  # the schema's bound; `max_k` in the settings may lower it (the OpenAPI says which)
