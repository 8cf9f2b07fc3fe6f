"""Reasons for a recommended item, in words a shopper understands, each backed by a checkable number.

Kinds of `Reason` and what their `weight` is:

- "because_you_bought": the history item contributing most to the item's score (`attribution`):
  the exact term of the model's sum (item-kNN, content) or the score drop when that item is left
  out of the history (any other model). Weight = that term, in the model's score units.
- "matches_tag": an interest tag the item carries; weight = the tag's share of the shopper's
  decayed interest (from their `Profile`).
- "query_match": closeness to a search query; weight = cosine of query and item vectors.
- "popular_with_similar": weight = share of the shopper's nearest fellow shoppers (cosine over
  who-bought-what) who interacted with the item.

Service use, once per bundle, then per request:

    explainer = Explainer(dataset.items, builder=profile_builder, item_vectors=vectors,
                          similar=SimilarShoppers().fit(train_data.matrix))
    reasons = explainer.explain(model, history, [item_a, item_b], query_vector=q, query="red lipstick")
    [[r.to_json() for r in rs] for rs in reasons]

`explain(model, history, item, catalogue)` answers for one item without keeping an Explainer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Self

import numpy as np
import polars as pl
import scipy.sparse as sp

from shoprec.data.types import History
from shoprec.models.base import Recommender
from shoprec.profiles.attribution import attribute, distinct_items
from shoprec.profiles.profile import Profile, ProfileBuilder

KINDS = ("because_you_bought", "matches_tag", "query_match", "popular_with_similar")


@dataclass(frozen=True)
class Reason:
    kind: str
    text: str
    weight: float
    item_id: str | None = None  # the history item cited by because_you_bought
    tag: str | None = None  # the tag cited by matches_tag
    method: str | None = None  # "exact" or "leave-one-out" for because_you_bought

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


class SimilarShoppers:
    """Nearest shoppers by cosine over binary who-bought-what rows, for "popular with shoppers
    like you"."""

    def __init__(self, n_neighbours: int = 50) -> None:
        self.n_neighbours = n_neighbours

    def fit(self, matrix: sp.spmatrix) -> Self:
        m = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
        m.data[:] = 1.0
        self.by_item_ = m.tocsc()
        self.matrix_ = m
        self.norms_ = np.sqrt(np.asarray(m.sum(axis=1)).ravel())
        return self

    def neighbours(self, history: History, exclude_user: int | None = None) -> np.ndarray:
        """Indices of the most similar shoppers who share at least one item, best first."""
        items = distinct_items(history)
        items = items[items < self.matrix_.shape[1]]
        if not len(items):
            return np.zeros(0, dtype=np.int64)
        overlap = np.asarray(self.by_item_[:, items].sum(axis=1)).ravel()
        sims = overlap / np.maximum(self.norms_ * np.sqrt(len(items)), 1e-12)
        if exclude_user is not None:
            sims[exclude_user] = 0.0
        candidates = np.flatnonzero(sims > 0)
        order = np.argsort(-sims[candidates], kind="stable")[: self.n_neighbours]
        return candidates[order]

    def share(self, neighbours: np.ndarray, items: Sequence[int]) -> np.ndarray:
        """Share of `neighbours` who interacted with each of `items`."""
        if not len(neighbours):
            return np.zeros(len(items))
        sub = self.matrix_[neighbours][:, np.asarray(items, dtype=np.int64)]
        return np.asarray(sub.sum(axis=0)).ravel() / len(neighbours)


class Explainer:
    """Explains any model's recommendations over one catalogue (see the module docstring)."""

    def __init__(self, catalogue: pl.DataFrame, builder: ProfileBuilder | None = None,
                 item_vectors: np.ndarray | None = None, similar: SimilarShoppers | None = None,
                 verb: str = "bought") -> None:
        self.catalogue = catalogue
        self.builder = builder
        self.item_vectors = item_vectors
        self.similar = similar
        self.verb = verb
        column = "title" if "title" in catalogue.columns else "item_id"
        self._titles = [t or i for t, i in zip(catalogue[column].to_list(),
                                               catalogue["item_id"].to_list())]
        self._ids = catalogue["item_id"].to_list()

    def explain(self, model: Recommender, history: History, items: Sequence[int],
                profile: Profile | None = None, query: str | None = None,
                query_vector: np.ndarray | None = None,
                exclude_user: int | None = None) -> list[list[Reason]]:
        """Reasons for each of `items` (item indices), strongest kinds first."""
        targets = np.asarray(items, dtype=np.int64)
        reasons: list[list[Reason]] = [[] for _ in targets]
        if len(history):
            att = attribute(model, history, targets)
            for row in range(len(targets)):
                top = att.top(row)
                if top is not None:
                    reasons[row].append(self._bought(top[0], top[1], att.method))
        if profile is None and self.builder is not None and len(history):
            profile = self.builder.build(history)
        if profile is not None and self.builder is not None:
            for row, item in enumerate(targets):
                tag = self._best_tag(profile, int(item))
                if tag is not None:
                    reasons[row].append(tag)
        if query_vector is not None and self.item_vectors is not None:
            cos = self.item_vectors[targets] @ np.asarray(query_vector, dtype=np.float32)
            for row, c in enumerate(cos):
                if c > 0:
                    text = f"Close to your search “{query}”" if query else "Close to your search"
                    reasons[row].append(Reason("query_match", text, round(float(c), 6)))
        if self.similar is not None and len(history):
            near = self.similar.neighbours(history, exclude_user)
            for row, s in enumerate(self.similar.share(near, targets)):
                if s > 0:
                    n = round(float(s) * len(near))
                    text = (f"Popular with shoppers like you: {n} of the {len(near)} shoppers "
                            f"most like you chose it")
                    reasons[row].append(Reason("popular_with_similar", text, round(float(s), 6)))
        return reasons

    def _bought(self, item: int, term: float, method: str) -> Reason:
        return Reason("because_you_bought", f"Because you {self.verb} “{self._titles[item]}”",
                      round(term, 6), item_id=self._ids[item], method=method)

    def _best_tag(self, profile: Profile, item: int) -> Reason | None:
        assert self.builder is not None
        total = sum(profile.tag_mass.values())
        if total <= 0:
            return None
        shares = [(profile.tag_mass.get(t, 0.0) / total, t)
                  for t in self.builder.tags_.of_item(item)]
        shares = [s for s in shares if s[0] > 0]
        if not shares:
            return None
        share, tag = max(shares)
        kind = profile.tag_kinds.get(tag, "tag")
        label = f"“{tag}” products" if kind == "topic" else tag.replace("brand: ", "the brand ")
        return Reason("matches_tag", f"Matches your interest in {label}", round(share, 6), tag=tag)


def explain(model: Recommender, history: History, item_index: int, catalogue: pl.DataFrame,
            profile: Profile | None = None, builder: ProfileBuilder | None = None,
            similar: SimilarShoppers | None = None, item_vectors: np.ndarray | None = None,
            query: str | None = None, query_vector: np.ndarray | None = None) -> list[Reason]:
    """Reasons for one recommended item (builds an `Explainer` for the call)."""
    explainer = Explainer(catalogue, builder, item_vectors, similar)
    return explainer.explain(model, history, [item_index], profile, query, query_vector)[0]
