"""The transformer's id vectors read from the items' texts: where they start (`text_init`) and
what an item added to the catalogue after training gets (cold start).

A new item gets a vector at once from its text path: the learned projection of its text vector.
With item_repr "id+text" a trained item's vector is that plus a learned id vector, which holds
what training learned beyond the text (what is bought together, how popular). A new item with a
zero id part scores on another scale than every trained item and never reached a top 10 in
benchmarks/cold_items.py. So it borrows one: the id vector of the trained item whose text reads
most alike, often the same product in another shade or size (`borrowed_ids`).

One lender, not a mean of several: a mean of ten neighbours' id vectors gives the new item the
mean of their scores, which almost never reaches a shopper's top 10 (on the benchmark's
development split of Beauty, a random 5% of items held out apart from the test items, cold
Recall@10 was .061 with one lender, .024 with three, .003 with ten, 0 with none; content .051).
`SASRecConfig.new_item_ids="zero"` turns borrowing off.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from shoprec.models.sasrec_net import SequenceNet

NEW_ITEM_IDS = ("borrow", "zero")
#: how many trained items that read alike lend a new item their id vectors (see above)
NEW_ITEM_NEIGHBOURS = 1


def text_init(text: torch.Tensor, dim: int, std: float) -> torch.Tensor:
    """Id vectors that start as the top `dim` principal components of the text vectors (small
    random values fill the dimensions a tiny catalogue or a short text vector cannot)."""
    centred = text - text.mean(0)
    _, _, v = torch.linalg.svd(centred, full_matrices=False)
    out = centred @ v[:dim].T
    out = out * (std / out.std().clamp_min(1e-12))
    if out.shape[1] < dim:
        out = torch.cat([out, torch.randn(len(out), dim - out.shape[1]) * std], dim=1)
    return out


def borrowed_ids(new_text: torch.Tensor, text: torch.Tensor, ids: torch.Tensor,
                 neighbours: int) -> torch.Tensor:
    """Id vectors for new items: the mean of the id vectors of the `neighbours` items whose text
    vectors are most cosine-similar to each new one, weighted by that (positive) similarity;
    zero with `neighbours=0` or where nothing reads alike (an item without text)."""
    out = torch.zeros(len(new_text), ids.shape[1], dtype=ids.dtype)
    if neighbours <= 0 or not len(text):
        return out
    with torch.no_grad():
        sims = F.normalize(new_text, dim=1) @ F.normalize(text, dim=1).T
        top, idx = sims.topk(min(neighbours, len(text)), dim=1)
        weights = top.clamp_min(0.0)
        total = weights.sum(1, keepdim=True)
        mixed = (weights[:, :, None] * ids[idx]).sum(1) / total.clamp_min(1e-12)
        return torch.where(total > 0, mixed, out)


def add_text_items(net: SequenceNet, text_vectors: np.ndarray, neighbours: int) -> np.ndarray:
    """Append items known by their text vectors to `net`; returns their item indices.

    The item embedding is replaced whole (one assignment) and its serving tables built before
    it is, so a request scoring meanwhile sees the old items or the new ones, never a mix, and
    the next request does not pay for the build. Scoring reads the width from the table."""
    items = net.items
    if items.repr == "id":
        raise ValueError("item_repr='id' cannot embed new items; train with 'text' or 'id+text'")
    new = torch.as_tensor(np.asarray(text_vectors, dtype=np.float32))
    if new.ndim != 2 or new.shape[1] != items.text_vectors.shape[1]:
        raise ValueError(f"text_vectors must be (n, {items.text_vectors.shape[1]}), "
                         f"got {tuple(new.shape)}")
    ids = None
    if items.ids is not None:
        ids = borrowed_ids(new, items.text_vectors, items.ids.weight.detach(), neighbours)
    wider = items.with_new_items(new, ids)
    with torch.inference_mode():
        wider.serving_tables()
    start = items.n_items
    net.items = wider
    net.n_items = wider.n_items
    return np.arange(start, wider.n_items)


def trained_weights(net: SequenceNet, n_items: int) -> dict[str, torch.Tensor]:
    """`net`'s state dict holding only the first `n_items` items (those it was trained on): a
    saved model matches its bundle's catalogue, whose live additions are given to it again when
    it is loaded (`shoprec.engine.serving.adopt_new_items`)."""
    per_item = ("items.ids.weight", "items.text_vectors")
    return {k: v[:n_items] if k in per_item else v for k, v in net.state_dict().items()}
