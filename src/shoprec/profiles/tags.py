"""Interest tags of items: what a shopper's profile is made of.

Where the catalogue names categories or brands (`category`, `categories`, `genre`, `brand`
columns), each item carries those tags. Where it has only free text (Amazon Beauty has titles
only), tags are *topics*: k-means clusters of the language-model item vectors, each named by the
words most distinctive of its titles (TF-IDF of the titles in the cluster against all titles).
Topics cost a clustering pass, so `topics_cached` computes them once per catalogue and keeps them
in a folder (the bundle's `profiles/` folder).

A Chinese catalogue (`shoprec.text.language.catalogue_language`) gets more: every level of a
category path is a tag (a Chinese shop's paths, such as 外设产品 > 鼠标 > 电脑/办公, do not go
from broad to narrow reliably), and the words its titles share (segmented by jieba, see
`chinese.py`: 无线, 鼠标, 金士顿) are `keyword` tags; topic names are made of jieba's words too.
English catalogues keep the deepest category level and regex words, as before.

`ItemTags.matrix` is items x tags with each item's row summing to 1 (or 0 for an untagged
item), so a shopper's tag weights are a plain weighted sum over their history.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import scipy.sparse as sp

#: Catalogue columns read as tags, with the kind each gives.
TAG_COLUMNS: dict[str, str] = {"category": "category", "categories": "category",
                               "genre": "category", "genres": "category", "brand": "brand"}
#: A tag on more than this share of the catalogue says nothing about a shopper (e.g. a root
#: category such as "Beauty"); it is dropped.
MAX_TAG_SHARE = 0.5
_SPLIT = re.compile(r"\s*[,;|]\s*")
_WORD = re.compile(r"[^\W\d_][\w'&-]*[^\W_]|[^\W\d_]", re.UNICODE)
STOPWORDS = frozenset({
    "a", "an", "and", "or", "the", "of", "for", "with", "in", "on", "to", "by", "from", "at",
    "as", "is", "it", "its", "this", "that", "be", "are", "was", "oz", "fl", "fluid", "ounce",
    "ounces", "ml", "pack", "count", "piece", "pcs", "set", "size", "inch", "new", "x",
})


@dataclass(frozen=True)
class ItemTags:
    """Tags of every item: `names[t]` with `kinds[t]`, and `matrix` (items x tags, rows sum to 1)."""

    names: list[str]
    kinds: list[str]
    matrix: sp.csr_matrix

    @property
    def n_tags(self) -> int:
        return len(self.names)

    def of_item(self, item: int) -> list[str]:
        row = self.matrix.getrow(item)
        return [self.names[t] for t in row.indices]

    def kind_of(self) -> dict[str, str]:
        return dict(zip(self.names, self.kinds))


def empty_tags(n_items: int) -> ItemTags:
    return ItemTags([], [], sp.csr_matrix((n_items, 0), dtype=np.float32))


def tags_from_columns(items: pl.DataFrame, max_share: float = MAX_TAG_SHARE) -> ItemTags:
    """Tags from category/brand columns; category paths ("Beauty > Makeup > Eyes") give their
    deepest level (every level, plus title keywords, in a Chinese catalogue). Returns no tags
    when the catalogue has no such column."""
    chinese = _is_chinese(items)
    per_item: list[list[tuple[str, str]]] = [[] for _ in range(items.height)]
    for column, kind in TAG_COLUMNS.items():
        if column not in items.columns or items[column].dtype != pl.String:
            continue
        for n, value in enumerate(items[column].to_list()):
            for part in _SPLIT.split(value or ""):
                levels = [p.strip() for p in part.split(">")]
                for name in levels if chinese and kind == "category" else levels[-1:]:
                    if name:
                        per_item[n].append((f"brand: {name}" if kind == "brand" else name, kind))
    if chinese and any(per_item):
        _add_title_keywords(items, per_item)
    return _from_lists(per_item, max_share)


def _is_chinese(items: pl.DataFrame) -> bool:
    from shoprec.text.language import catalogue_language

    return catalogue_language(items) == "zh"


def _add_title_keywords(items: pl.DataFrame, per_item: list[list[tuple[str, str]]]) -> None:
    """Each item's title words shared with another item, as `keyword` tags (a word that is
    already a tag of any item, e.g. the category 鼠标, is left to that tag)."""
    from shoprec.profiles.chinese import shared_keywords

    named = {name for tags in per_item for name, _ in tags}
    for n, keywords in enumerate(shared_keywords(_titles(items))):
        per_item[n] += [(w, "keyword") for w in keywords if w not in named]


def _from_lists(per_item: list[list[tuple[str, str]]], max_share: float) -> ItemTags:
    counts = Counter(tag for tags in per_item for tag in set(tags))
    limit = max_share * len(per_item)
    kept = sorted(t for t, c in counts.items() if c <= limit)
    index = {t: n for n, t in enumerate(kept)}
    rows, cols = [], []
    for item, tags in enumerate(per_item):
        for t in sorted(set(tags)):
            if t in index:
                rows.append(item)
                cols.append(index[t])
    return _normalised(rows, cols, len(per_item), [t[0] for t in kept], [t[1] for t in kept])


def _normalised(rows: list[int], cols: list[int], n_items: int, names: list[str],
                kinds: list[str]) -> ItemTags:
    m = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(n_items, len(names)))
    per_row = np.asarray(m.sum(axis=1)).ravel()
    scale = np.divide(1.0, per_row, out=np.zeros_like(per_row), where=per_row > 0)
    return ItemTags(names, kinds, sp.csr_matrix(sp.diags(scale) @ m, dtype=np.float32))


def spherical_kmeans(vectors: np.ndarray, k: int, seed: int = 0, iterations: int = 30) -> np.ndarray:
    """Cluster label per row of L2-normalised `vectors` (cosine k-means, k-means++ start)."""
    x = np.asarray(vectors, dtype=np.float32)
    if x.ndim != 2 or len(x) < k or k < 1:
        raise ValueError(f"spherical_kmeans: need a 2-D array with at least k={k} rows, got {x.shape}")
    rng = np.random.default_rng(seed)
    centres = [x[rng.integers(len(x))]]
    closest = 1.0 - x @ centres[0]
    for _ in range(1, k):
        p = np.clip(closest, 0, None) ** 2
        pick = rng.choice(len(x), p=p / p.sum()) if p.sum() > 0 else rng.integers(len(x))
        centres.append(x[pick])
        closest = np.minimum(closest, 1.0 - x @ x[pick])
    c = np.stack(centres)
    labels = np.full(len(x), -1)
    for _ in range(iterations):
        new = np.argmax(x @ c.T, axis=1)
        if np.array_equal(new, labels):
            break
        labels = new
        for j in range(k):
            members = x[labels == j]
            if len(members):
                s = members.sum(axis=0)
                c[j] = s / max(np.linalg.norm(s), 1e-12)
    return labels


def title_words(title: str) -> set[str]:
    """The words of a title that can name a topic: jieba's words when it holds any Chinese
    (mixed titles such as "Kingston 金士顿 …" included), else the regex's lower-cased words
    without stop words, as for every English title."""
    from shoprec.text.language import han_share

    if han_share(title or "") > 0:
        from shoprec.profiles.chinese import words

        return set(words(title))
    return {w for w in _WORD.findall((title or "").lower()) if w not in STOPWORDS}


def name_clusters(titles: list[str], labels: np.ndarray, words_per_name: int = 3) -> list[str]:
    """Each cluster's name: its `words_per_name` words with the highest (share of the cluster's
    titles containing the word) x log(all titles / titles containing it), i.e. frequent in the
    cluster and rare elsewhere. A word must occur in at least 2 titles of the cluster."""
    docs = [title_words(t) for t in titles]
    df = Counter(w for d in docs for w in d)
    n = len(docs)
    names = []
    for c in range(int(labels.max()) + 1 if len(labels) else 0):
        members = [docs[i] for i in np.flatnonzero(labels == c)]
        if not members:
            names.append(f"topic {c}")
            continue
        tf = Counter(w for d in members for w in d)
        scored = sorted(((cnt / len(members)) * np.log(n / df[w]), w)
                        for w, cnt in tf.items() if cnt >= 2)
        best = [w for _, w in reversed(scored)][:words_per_name]
        names.append(" / ".join(best) if best else f"topic {c}")
    return _unique(names)


def _unique(names: list[str]) -> list[str]:
    seen: Counter[str] = Counter()
    out = []
    for name in names:
        seen[name] += 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out


def default_topic_count(n_items: int) -> int:
    return int(np.clip(n_items // 200, 2, 64))


def topics_from_vectors(items: pl.DataFrame, vectors: np.ndarray, n_topics: int | None = None,
                        seed: int = 0) -> ItemTags:
    """One topic tag per item: the k-means cluster of its vector, named from its titles."""
    if len(vectors) != items.height:
        raise ValueError(f"topics_from_vectors: {len(vectors)} vectors for {items.height} items")
    k = n_topics or default_topic_count(items.height)
    has_text = np.linalg.norm(vectors, axis=1) > 0  # all-zero rows: items without text
    labels = np.full(items.height, -1, dtype=np.int64)
    labels[has_text] = spherical_kmeans(vectors[has_text], k, seed)
    titles = _titles(items)
    return _topic_tags(name_clusters(titles, labels), labels)


def _topic_tags(names: list[str], labels: np.ndarray) -> ItemTags:
    """Items labelled -1 get no topic."""
    rows = np.flatnonzero(labels >= 0)
    return _normalised(rows.tolist(), labels[rows].tolist(), len(labels), names,
                       ["topic"] * len(names))


def _titles(items: pl.DataFrame) -> list[str]:
    column = "title" if "title" in items.columns else "item_id"
    return [t or "" for t in items[column].to_list()]


def catalogue_key(items: pl.DataFrame, vectors: np.ndarray, n_topics: int, seed: int) -> str:
    """Changes when ids, titles, vectors or clustering settings change (then topics are rebuilt)."""
    h = hashlib.sha256()
    h.update("\n".join(items["item_id"].to_list()).encode())
    h.update("\n".join(_titles(items)).encode())
    h.update(np.ascontiguousarray(vectors, dtype=np.float32).tobytes())
    h.update(f"{n_topics}/{seed}".encode())
    return h.hexdigest()[:16]


def topics_cached(folder: Path, items: pl.DataFrame, vectors: np.ndarray,
                  n_topics: int | None = None, seed: int = 0) -> ItemTags:
    """`topics_from_vectors`, stored as `folder/topics.json`; reused while the key matches."""
    k = n_topics or default_topic_count(items.height)
    key = catalogue_key(items, vectors, k, seed)
    path = Path(folder) / "topics.json"
    if path.is_file():
        stored = json.loads(path.read_text())
        if stored.get("key") == key:
            return _topic_tags(stored["names"], np.asarray(stored["labels"], dtype=np.int64))
    tags = topics_from_vectors(items, vectors, k, seed)
    labels = np.full(items.height, -1, dtype=np.int64)
    rows = np.repeat(np.arange(items.height), np.diff(tags.matrix.indptr))
    labels[rows] = tags.matrix.indices
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"key": key, "n_topics": k, "seed": seed, "names": tags.names,
                               "labels": labels.tolist()}))
    tmp.replace(path)
    return tags


def item_tags(items: pl.DataFrame, vectors: np.ndarray | None = None,
              cache_folder: Path | None = None, n_topics: int | None = None) -> ItemTags:
    """The catalogue's own tags when it has category/brand columns; else topics from `vectors`
    (cached in `cache_folder` when given); else no tags."""
    tags = tags_from_columns(items)
    if tags.n_tags or vectors is None:
        return tags
    if cache_folder is not None:
        return topics_cached(cache_folder, items, vectors, n_topics)
    return topics_from_vectors(items, vectors, n_topics)
