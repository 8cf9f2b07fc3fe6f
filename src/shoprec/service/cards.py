"""Item records and ranked ids as response bodies."""

from __future__ import annotations

from collections.abc import Sequence

from shoprec.engine.catalogue import Catalogue
from shoprec.engine.recommending import Ranked
from shoprec.service.schemas import ItemOut, RecommendationOut
from shoprec.store import ItemRecord


def item_out(record: ItemRecord) -> ItemOut:
    return ItemOut(**record.to_json())


def ranked_out(catalogue: Catalogue, ranked: Sequence[Ranked]) -> list[RecommendationOut]:
    out = []
    for r in ranked:
        record = catalogue.get(r.item_id) or ItemRecord(r.item_id)
        out.append(RecommendationOut(**record.to_json(), score=r.score, reason=r.reason))
    return out
