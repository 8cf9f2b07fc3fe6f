"""Are "because you bought X" explanations faithful to the model?

For each shopper: take the model's top recommended item, the history item the explanation cites
for it (largest attribution term), and one other history item drawn at random. Remove each from
the history in turn and re-score with the model itself (never with the attribution). The
explanation is faithful for that shopper when removing the cited item lowers the item's score
more than removing the random one. The rate over shoppers is the number benchmarks/explain.py
reports and tests/profiles/test_faithfulness.py checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from shoprec.models.base import History, Recommender
from shoprec.models.ranking import top_k
from shoprec.profiles.attribution import attribute, distinct_items, without_items


@dataclass(frozen=True)
class Faithfulness:
    cases: int  # shoppers with a cited item and another item to compare with
    faithful: int  # removing the cited item lowered the score strictly more
    ties: int  # both removals changed the score equally
    uncited: int  # no history item had a positive attribution
    method: str  # attribution method used ("exact" / "leave-one-out")

    @property
    def rate(self) -> float:
        return self.faithful / self.cases if self.cases else float("nan")

    def to_json(self) -> dict[str, float | int | str]:
        return {"cases": self.cases, "faithful": self.faithful, "ties": self.ties,
                "uncited": self.uncited, "rate": round(self.rate, 4), "method": self.method}


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
            top = att.top(0)
            if top is None:
                uncited += 1
                continue
            others = [int(i) for i in att.items if i != top[0]]
            other = others[int(rng.integers(len(others)))]
            variants += [h, without_items(h, [top[0]]), without_items(h, [other])]
            targets.append(int(item))
    scores = _score_targets(model, variants, targets, batch_size)
    drop_top = scores[:, 0] - scores[:, 1]
    drop_other = scores[:, 0] - scores[:, 2]
    return Faithfulness(len(targets), int((drop_top > drop_other).sum()),
                        int(np.isclose(drop_top, drop_other, rtol=1e-6, atol=1e-9).sum()),
                        uncited, method)


def _score_targets(model: Recommender, variants: list[History], targets: list[int],
                   batch_size: int) -> np.ndarray:
    """(cases, 3) scores of each case's target for its full / without-cited / without-other history."""
    out = np.zeros(len(variants))
    for lo in range(0, len(variants), 3 * batch_size):
        chunk = variants[lo:lo + 3 * batch_size]
        rows = np.asarray(model.score(chunk), dtype=np.float64)
        cols = np.repeat(targets[lo // 3: lo // 3 + len(chunk) // 3], 3)
        out[lo:lo + len(chunk)] = rows[np.arange(len(chunk)), cols]
    return out.reshape(-1, 3)
