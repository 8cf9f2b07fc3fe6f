"""Which of the shop's categories a request means, read by the sentence encoder.

Every distinct category path of the catalogue ("Office Electronics > Printers & Accessories >
Printers > Laser Printers", "外设产品 > 鼠标 > 电脑/办公") is a point in the encoder's space: the
path's own words, the mean of its items' vectors, or both (the calibration picks). A request's
cosine to each path, through a softmax, gives a share of belief per path; a level of the
paths ("Printers", "鼠标") holds the share of every path that contains it. The reader commits
to the most specific level holding at least `threshold` of the belief, and to none when no level
does: "no category" is the answer when unsure, since a wrong category hides every right item.
A level the shopper names ("laser printers") needs `named_threshold` of the belief instead: a
word of a category name said in passing ("toner for HP printers") is no request for printers.

Temperature, the representation and both thresholds are chosen by `calibrate` on requests
written from the catalogue's own items (`engine.calibration`), never on an evaluation set.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from shoprec.engine.calibration import TARGET_PRECISION, HeldOut
from shoprec.engine.catalogue import category_keys, category_levels
from shoprec.store import ItemRecord

TEMPERATURES = (0.02, 0.05, 0.1)
THRESHOLDS = tuple(round(t, 3) for t in np.arange(0.5, 1.0, 0.025))
REPRESENTATIONS = ("path", "items", "path+items")


@dataclass(frozen=True)
class CategoryMeaning:
    """The category paths as vectors, the levels they contain, and the calibrated choices."""

    levels: tuple[str, ...]  # display names of the levels a request may mean
    level_keys: tuple[str, ...]  # their lower-case keys
    level_size: np.ndarray  # items per level
    contains: np.ndarray  # (paths, levels) 1 where a path holds a level
    path_vectors: dict[str, np.ndarray]  # by representation: (paths, dim) unit rows
    representation: str = "path+items"
    temperature: float = 0.05
    threshold: float = float("inf")
    named_threshold: float = float("inf")
    named_representation: str = "path"
    named_temperature: float = 0.05
    report: dict = field(default_factory=dict)
    path_index: dict[str, int] = field(default_factory=dict, repr=False, compare=False)
    path_sums: np.ndarray | None = field(default=None, repr=False, compare=False)

    def belief(self, query: np.ndarray, representation: str | None = None,
               temperature: float | None = None) -> np.ndarray:
        """Share of belief per level for a unit query vector (a level's is the sum over the
        paths that contain it)."""
        vectors = self.path_vectors[representation or self.representation]
        scores = vectors @ query
        t = temperature or self.temperature
        weights = np.exp((scores - scores.max()) / t)
        return (weights / weights.sum()) @ self.contains

    def pick(self, query: np.ndarray, named: str | None = None) -> tuple[str | None, float]:
        """(level, its belief) the request means, or (None, the best belief) when unsure.
        `named`: the key of a level the message names in words."""
        belief = self.belief(query)
        if named is not None and named in self.level_keys:
            at = self.level_keys.index(named)
            said = self.belief(query, self.named_representation, self.named_temperature)[at]
            if said >= self.named_threshold:
                return self.levels[at], float(said)
        return decide(belief, self.level_size, self.levels, self.threshold)


def decide(belief: np.ndarray, size: np.ndarray, levels: Sequence[str], threshold: float,
           ) -> tuple[str | None, float]:
    """The most specific level holding `threshold` of the belief, or None."""
    sure = np.flatnonzero(belief >= threshold)
    if not len(sure):
        return None, float(belief.max()) if len(belief) else 0.0
    best = sure[np.lexsort((-belief[sure], size[sure]))[0]]
    return levels[best], float(belief[best])


def build(records: Sequence[ItemRecord], levels: dict[str, str],
          item_vector: Callable[[str], np.ndarray | None],
          encode: Callable[[list[str]], np.ndarray]) -> CategoryMeaning:
    """The catalogue's paths encoded two ways: their words, and the mean of their items'
    vectors (`item_vector(item_id)`, None for an item the encoder has not read)."""
    by_path: dict[str, list[str]] = {}
    for r in records:
        if r.category:
            by_path.setdefault(r.category.strip(), []).append(r.item_id)
    paths = sorted(by_path)
    keys = tuple(levels)
    contains = np.array([[k in category_keys(p) for k in keys] for p in paths], dtype=np.float64)
    size = np.array([sum(len(by_path[p]) for p in paths if k in category_keys(p)) for k in keys])
    words = encode([" > ".join(category_levels(p)) for p in paths]) if paths else np.zeros((0, 1))
    dim = words.shape[1]
    sums = np.zeros((len(paths), dim))
    for n, p in enumerate(paths):
        for item_id in by_path[p]:
            v = item_vector(item_id)
            if v is not None:
                sums[n] += v
    items = _unit(sums)
    vectors = {"path": words, "items": items, "path+items": _unit(words + items)}
    return CategoryMeaning(tuple(levels[k] for k in keys), keys, size, contains, vectors,
                           path_index={p: n for n, p in enumerate(paths)}, path_sums=sums)


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def calibrate(meaning: CategoryMeaning, held_out: Sequence[HeldOut], queries: np.ndarray,
              records: dict[str, ItemRecord], item_vector: Callable[[str], np.ndarray | None],
              named: Sequence[str | None], target: float = TARGET_PRECISION) -> CategoryMeaning:
    """`meaning` with the representation, temperature and thresholds that, on the held-out
    requests (`queries` their unit vectors; `named` the level key each names, or None), keep a
    right category at least `target` of the time (Beta(1, 1)-smoothed, so a handful of lucky
    requests is not enough) and otherwise filter the most: the mean share of the catalogue that
    the accepted, right categories take away. An item's own vector is left out of its path's
    mean, as a request about an item the shop does not yet hold would find it."""
    total = max(int(meaning.level_size.max()) if len(meaning.level_size) else 1, 1)
    right = np.array([[k in category_keys(records[h.item_id].category) for k in meaning.level_keys]
                      for h in held_out], dtype=bool)
    leave_out = _leave_one_out(meaning, held_out, records, item_vector)
    best: tuple[float, str, float, float, int] | None = None
    for rep in REPRESENTATIONS:
        for t in TEMPERATURES:
            beliefs = np.stack([_belief(meaning, rep, t, q, leave_out.get(n))
                                for n, q in enumerate(queries)]) if len(queries) else np.zeros(
                                    (0, len(meaning.levels)))
            plain = [n for n, name in enumerate(named) if name is None]
            for threshold in THRESHOLDS:
                value, precision, accepted = _usefulness(beliefs[plain], right[plain], meaning,
                                                         threshold, total)
                if (accepted and (precision * accepted + 1) / (accepted + 2) >= target
                        and (best is None or value > best[0])):
                    best = (value, rep, t, threshold, accepted)
    if best is None:
        return _with(meaning, report={"held_out": len(held_out), "committed": False})
    _, rep, t, threshold, _ = best
    named_threshold, named_rep, named_t, named_accepted = _named_threshold(
        meaning, queries, named, right, leave_out, target)
    report = {"held_out": len(held_out), "named_held_out": sum(n is not None for n in named),
              "representation": rep, "temperature": t, "threshold": threshold,
              "accepted": best[4], "named_representation": named_rep,
              "named_temperature": named_t, "named_threshold": named_threshold,
              "named_accepted": named_accepted, "target": target}
    return _with(meaning, representation=rep, temperature=t, threshold=threshold,
                 named_representation=named_rep, named_temperature=named_t,
                 named_threshold=named_threshold, report=report)


def _with(meaning: CategoryMeaning, **changes: object) -> CategoryMeaning:
    return replace(meaning, **changes)  # type: ignore[arg-type]


def _leave_one_out(meaning: CategoryMeaning, held_out: Sequence[HeldOut],
                   records: dict[str, ItemRecord], item_vector: Callable[[str], np.ndarray | None],
                   ) -> dict[int, tuple[int, np.ndarray]]:
    """For each held-out request, (its item's path row, that path's vector without the item)."""
    out = {}
    for n, h in enumerate(held_out):
        row = meaning.path_index.get((records[h.item_id].category or "").strip())
        v = item_vector(h.item_id)
        if row is not None and v is not None and meaning.path_sums is not None:
            out[n] = (row, meaning.path_sums[row] - v)
    return out


def _belief(meaning: CategoryMeaning, rep: str, t: float, q: np.ndarray,
            own: tuple[int, np.ndarray] | None) -> np.ndarray:
    vectors = meaning.path_vectors[rep]
    if own is not None and rep != "path":
        row, rest = own
        items = rest / max(float(np.linalg.norm(rest)), 1e-12)
        if rep == "path+items":
            mixed = meaning.path_vectors["path"][row] + items
            items = mixed / max(float(np.linalg.norm(mixed)), 1e-12)
        vectors = vectors.copy()
        vectors[row] = items
    scores = vectors @ q
    weights = np.exp((scores - scores.max()) / t)
    return (weights / weights.sum()) @ meaning.contains


def _usefulness(beliefs: np.ndarray, right: np.ndarray, meaning: CategoryMeaning,
                threshold: float, total: int) -> tuple[float, float, int]:
    """(mean share of the catalogue removed by right categories, precision, accepted)."""
    gain, hits, accepted = 0.0, 0, 0
    for belief, ok in zip(beliefs, right):
        sure = np.flatnonzero(belief >= threshold)
        if not len(sure):
            continue
        at = sure[np.lexsort((-belief[sure], meaning.level_size[sure]))[0]]
        accepted += 1
        if ok[at]:
            hits += 1
            gain += 1.0 - meaning.level_size[at] / total
    return gain / max(len(beliefs), 1), hits / max(accepted, 1), accepted


def _named_threshold(meaning: CategoryMeaning, queries: np.ndarray,
                     named: Sequence[str | None], right: np.ndarray,
                     leave_out: dict[int, tuple[int, np.ndarray]], target: float
                     ) -> tuple[float, str, float, int]:
    """(threshold, representation, temperature, accepted): the lowest belief in a named level
    at which naming it is right `target` of the time, in the representation and temperature
    that accept the most named requests."""
    rows = [(n, meaning.level_keys.index(name)) for n, name in enumerate(named)
            if name is not None and name in meaning.level_keys]
    best = (float("inf"), meaning.representation, meaning.temperature, 0)
    for rep in REPRESENTATIONS:
        for t in TEMPERATURES:
            values = [(_belief(meaning, rep, t, queries[n], leave_out.get(n))[at],
                       bool(right[n, at])) for n, at in rows]
            for threshold in (0.0, 0.05, 0.1, 0.2, 0.3, 0.4, *THRESHOLDS):
                accepted = [ok for b, ok in values if b >= threshold]
                if accepted and (sum(accepted) + 1) / (len(accepted) + 2) >= target:
                    if len(accepted) > best[3]:
                        best = (threshold, rep, t, len(accepted))
                    break
    return best


class MeaningCache:
    """One `CategoryMeaning` per encoder and set of category levels, built once (callers wait
    at a lock rather than building it twice)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: object = None
        self._meaning: CategoryMeaning | None = None

    def get(self, key: object, make: Callable[[], CategoryMeaning]) -> CategoryMeaning:
        with self._lock:
            if self._meaning is None or self._key != key:
                self._meaning, self._key = make(), key
            return self._meaning
