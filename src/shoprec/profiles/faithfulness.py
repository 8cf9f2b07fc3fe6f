"""Are "because you bought X" explanations faithful to the model?

For each shopper: take the model's top recommended item, the history item the explanation cites
for it (largest attribution term), and one other history item drawn at random. Remove each from
the history in turn and re-score with the model itself (never with the attribution). The
explanation is faithful for that shopper when removing the cited item lowers the item's score
more than removing the random one. The rate over shoppers is the number benchmarks/explain.py
reports and tests/profiles/test_faithfulness.py checks.

For leave-one-out attribution the single-item check holds by construction (the cited item *is*
the one whose removal lowers the score most), so it only guards the plumbing. The pair check is
a real test for every method: removing the two top-cited items together must lower the score
more than removing two random other items together (shoppers with 4+ distinct items), which
interactions between history items can break.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from shoprec.data.types import History
from shoprec.models.base import Recommender
from shoprec.models.ranking import top_k
from shoprec.profiles.attribution import attribute, distinct_items, without_items


@dataclass(frozen=True)
class Faithfulness:
    cases: int  # shoppers with a cited item and another item to compare with
    faithful: int  # removing the cited item lowered the score strictly more
    ties: int  # both removals changed the score equally
    uncited: int  # no history item had a positive attribution
    method: str  # attribution method used ("exact" / "leave-one-out")
    pair_cases: int = 0  # shoppers with 4+ distinct items and a cited item
    pair_faithful: int = 0  # removing the top-2 cited lowered the score more than 2 random

    @property
    def rate(self) -> float:
        return self.faithful / self.cases if self.cases else float("nan")

    @property
    def pair_rate(self) -> float:
        return self.pair_faithful / self.pair_cases if self.pair_cases else float("nan")

    def to_json(self) -> dict[str, float | int | str]:
        return {"cases": self.cases, "faithful": self.faithful, "ties": self.ties,
                "uncited": self.uncited, "rate": round(self.rate, 4), "method": self.method,
                "pair_cases": self.pair_cases, "pair_faithful": self.pair_faithful,
                "pair_rate": round(self.pair_rate, 4)}


def faithfulness(model: Recommender, histories: Sequence[History], seed: int = 0,
                 batch_size: int = 256) -> Faithfulness:
    """Check every history with at least 2 distinct items against the model's top-1 item."""
    rng = np.random.default_rng(seed)
    usable = [h for h in histories if len(distinct_items(h)) >= 2]
    variants: list[History] = []
    targets: list[int] = []
    uncited, method = 0, ""
    for lo in range(0, len(usable), batch_size):
        batch = usable[lo:lo + batch_size]
        best, _ = top_k(np.asarray(model.score(batch)), 1, batch)
        for h, item in zip(batch, best[:, 0]):
            att = attribute(model, h, [int(item)])
            method = att.method
            if att.top(0) is None:
                uncited += 1
                continue
            ranked = att.items[np.argsort(-att.terms[0], kind="stable")]
            others = rng.permutation(ranked[1:])
            pair = len(ranked) >= 4  # two cited and two others, all distinct
            variants += [h, without_items(h, ranked[:1]), without_items(h, others[:1]),
                         without_items(h, ranked[:2]) if pair else h,
                         without_items(h, others[:2]) if pair else h]
            targets.append(int(item))
    s = _score_targets(model, variants, targets, batch_size)
    drop_top, drop_other = s[:, 0] - s[:, 1], s[:, 0] - s[:, 2]
    pair = np.array([len(distinct_items(v)) < len(distinct_items(f)) - 1
                     for f, v in zip(variants[0::5], variants[3::5])], dtype=bool)
    pair_ok = (s[:, 0] - s[:, 3]) > (s[:, 0] - s[:, 4])
    return Faithfulness(len(targets), int((drop_top > drop_other).sum()),
                        int(np.isclose(drop_top, drop_other, rtol=1e-6, atol=1e-9).sum()),
                        uncited, method, int(pair.sum()), int((pair_ok & pair).sum()))


def _score_targets(model: Recommender, variants: list[History], targets: list[int],
                   batch_size: int) -> np.ndarray:
    """(cases, 5) scores of each case's target for its full / without-cited / without-other /
    without-top-2 / without-2-others history."""
    width = 5
    out = np.zeros(len(variants))
    for lo in range(0, len(variants), width * batch_size):
        chunk = variants[lo:lo + width * batch_size]
        rows = np.asarray(model.score(chunk), dtype=np.float64)
        cols = np.repeat(targets[lo // width: lo // width + len(chunk) // width], width)
        out[lo:lo + len(chunk)] = rows[np.arange(len(chunk)), cols]
    return out.reshape(-1, width)
