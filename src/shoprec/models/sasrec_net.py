"""The transformer behind `shoprec.models.sasrec`: SASRec with text-aware item embeddings.

Read top to bottom: how an item becomes a vector (`ItemEmbedding`), one attention block
(`Block`), the whole network (`SequenceNet`). Token 0 is padding, token i + 1 is item i and
token n_items + 1 is the [mask] of BERT4Rec-style training. Sequences are left-padded so the
most recent item always sits in the last position, which always gets the same position vector.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

ITEM_REPRS = ("id", "id+text", "text")


class ItemEmbedding(nn.Module):
    """One vector per item: a learned id vector, a learned projection of the frozen text vector, or
    their sum. The text part gives sparse items a meaningful vector and makes "text" mode able to
    embed items never seen in training."""

    def __init__(self, n_items: int, dim: int, repr: str, text_vectors: torch.Tensor | None) -> None:
        super().__init__()
        if repr not in ITEM_REPRS:
            raise ValueError(f"item_repr must be one of {ITEM_REPRS}, got {repr!r}")
        if repr != "id" and text_vectors is None:
            raise ValueError(f"item_repr={repr!r} needs the items' text vectors")
        self.n_items, self.repr = n_items, repr
        self.ids = nn.Embedding(n_items, dim) if repr != "text" else None
        if repr != "id":
            self.register_buffer("text_vectors", text_vectors.float(), persistent=True)
            self.text_proj = nn.Linear(text_vectors.shape[1], dim, bias=False)
        self.mask_vector = nn.Parameter(torch.zeros(dim))
        self._serving: tuple[tuple, torch.Tensor, torch.Tensor] | None = None

    def table(self) -> torch.Tensor:
        """(n_items, dim) vectors of every catalogue item, also used as the output layer."""
        out = self.ids.weight if self.ids is not None else 0.0
        if self.repr != "id":
            out = out + self.text_proj(self.text_vectors)
        return out

    def rows(self, items: torch.Tensor) -> torch.Tensor:
        """Vectors of the items `items` only: what `table()[items]` holds, without projecting the
        text of the rest of the catalogue (the sampled loss touches a few thousand items)."""
        out = self.ids(items) if self.ids is not None else 0.0
        if self.repr != "id":
            out = out + self.text_proj(self.text_vectors[items])
        return out

    def token_rows(self, tokens: torch.Tensor) -> torch.Tensor:
        """(len(tokens), dim) vectors of the tokens `tokens` (padding zero, items, the mask)."""
        vectors = self.rows((tokens - 1).clamp(0, self.n_items - 1))
        vectors = vectors.masked_fill((tokens == 0)[:, None], 0.0)
        return torch.where((tokens == self.n_items + 1)[:, None], self.mask_vector[None], vectors)

    def tokens(self, table: torch.Tensor) -> torch.Tensor:
        """(n_items + 2, dim): padding (zero), the items, the mask token."""
        pad = table.new_zeros(1, table.shape[1])
        return torch.cat([pad, table, self.mask_vector[None]], dim=0)

    def serving_tables(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(table, tokens) for scoring, built once per set of weights while nothing trains.

        Projecting every item's text vector costs about 10 ms on Beauty, far more than one
        shopper's forward pass, so scoring without gradients reuses the last build. The cache is
        keyed on each weight's storage and version counter (an optimiser step, `load_state_dict`
        or a replaced tensor misses it); writes through `.data` bypass the counter, so whoever
        makes them calls `invalidate`. In training mode or with gradients on it is never used.
        """
        if self.training or torch.is_grad_enabled():
            table = self.table()
            return table, self.tokens(table)
        key = self._weights_key()
        cached = getattr(self, "_serving", None)
        if cached is None or cached[0] != key:
            with torch.inference_mode(False), torch.no_grad():  # plain tensors, usable anywhere
                table = self.table()
                cached = (key, table, self.tokens(table))
            self._serving = cached
        return cached[1], cached[2]

    def with_new_items(self, text_vectors: torch.Tensor, id_vectors: torch.Tensor | None
                       ) -> ItemEmbedding:
        """A copy of this embedding with `len(text_vectors)` more items (`id_vectors` their id
        parts, where it has ids); the text projection and the mask vector are shared with this
        one, so a model can swap the whole copy in with one assignment."""
        if self.repr == "id":
            raise ValueError("item_repr='id' cannot embed new items; train with 'text' or 'id+text'")
        out = ItemEmbedding(self.n_items + len(text_vectors), self.mask_vector.shape[0],
                            self.repr, torch.cat([self.text_vectors, text_vectors]))
        if self.ids is not None:
            weight = torch.cat([self.ids.weight.detach(), id_vectors])
            out.ids = nn.Embedding.from_pretrained(weight, freeze=False)
        out.text_proj, out.mask_vector = self.text_proj, self.mask_vector
        return out.train(self.training)

    def invalidate(self) -> None:
        """Forget the serving tables (after writing weights through `.data`)."""
        self._serving = None

    def _weights_key(self) -> tuple:
        tensors = (*self.parameters(), *self.buffers())
        return (self.n_items, *((t.data_ptr(), t._version, tuple(t.shape)) for t in tensors))


class Block(nn.Module):
    """Pre-norm transformer block (as in nanoGPT): attention then a feed-forward layer."""

    def __init__(self, dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.heads, self.dropout = heads, dropout
        self.ln1, self.ln2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.ff = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim),
                                nn.Dropout(dropout))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, allowed: torch.Tensor, last_only: bool = False
                ) -> torch.Tensor:
        """(batch, t, dim) -> (batch, t, dim); with `last_only`, only the last position's output
        (batch, 1, dim): its query against every key, then the feed-forward of one row, which is
        all a top block needs to score a shopper (about half of its work)."""
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        if last_only:
            x, q, allowed = x[:, -1:], q[:, -1:], allowed[:, -1:]
        q = q.reshape(b, -1, self.heads, d // self.heads).transpose(1, 2)
        k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (k, v))
        att = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed[:, None],
                                             dropout_p=self.dropout if self.training else 0.0)
        x = x + self.drop(self.proj(att.transpose(1, 2).reshape(b, -1, d)))
        return x + self.ff(self.ln2(x))


class SequenceNet(nn.Module):
    """Histories in, one hidden vector per position out; scores are dot products with item vectors.

    `causal=True` is SASRec (position t sees positions <= t and predicts the next item);
    `causal=False` is BERT4Rec (every position sees the whole sequence and predicts masked items).
    """

    def __init__(self, n_items: int, dim: int, layers: int, heads: int, max_len: int,
                 dropout: float, causal: bool, item_repr: str,
                 text_vectors: torch.Tensor | None = None) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"hidden size {dim} is not divisible by {heads} heads")
        self.n_items, self.max_len, self.causal = n_items, max_len, causal
        self.items = ItemEmbedding(n_items, dim, item_repr, text_vectors)
        self.positions = nn.Embedding(max_len, dim)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList([Block(dim, heads, dropout) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(dim)
        self.apply(_init_weights)

    def forward(self, tokens: torch.Tensor, table: torch.Tensor | None = None,
                token_table: torch.Tensor | None = None, last_only: bool = False) -> torch.Tensor:
        """tokens (batch, t <= max_len), left-padded with 0 -> hidden states (batch, t, dim), or
        (batch, 1, dim) of the last position with `last_only`. `token_table`, when given, is
        `items.tokens(table)` already built (the serving cache)."""
        if token_table is None:
            table = self.items.table() if table is None else table
            token_table = self.items.tokens(table)
        b, t = tokens.shape
        x = F.embedding(tokens, token_table)
        pos = torch.arange(self.max_len - t, self.max_len, device=tokens.device)
        x = self.drop(x + self.positions(pos)[None])
        real = tokens != 0
        allowed = real[:, None, :].expand(b, t, t)
        if self.causal:
            allowed = allowed & torch.ones(t, t, dtype=torch.bool, device=tokens.device).tril()
        # a padding position attends to itself so no row of the attention is empty
        allowed = allowed | torch.eye(t, dtype=torch.bool, device=tokens.device)
        for n, block in enumerate(self.blocks):
            x = block(x, allowed, last_only=last_only and n == len(self.blocks) - 1)
        return self.ln_f(x)

    def last_hidden(self, tokens: torch.Tensor, table: torch.Tensor | None = None,
                    token_table: torch.Tensor | None = None) -> torch.Tensor:
        """(batch, dim) summary of each history, read from the last position."""
        return self.forward(tokens, table, token_table, last_only=True)[:, -1]


def _init_weights(module: nn.Module) -> None:
    if isinstance(module, (nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)


def sequence_loss(hidden: torch.Tensor, targets: torch.Tensor, table: torch.Tensor,
                  n_negatives: int | None, generator: torch.Generator | None = None) -> torch.Tensor:
    """Cross-entropy of the target item at each position that has one (target token > 0).

    `n_negatives=None`: softmax over the whole catalogue. Otherwise sampled softmax against
    `n_negatives` items drawn uniformly and shared by the batch (see `sampled_logits`).
    """
    keep = targets > 0
    h, y = hidden[keep], targets[keep] - 1
    if n_negatives is None:
        return F.cross_entropy(h @ table.T, y)
    neg = torch.randint(0, table.shape[0], (n_negatives,), generator=generator)
    return F.cross_entropy(sampled_logits(h, table[y], table[neg], y, neg, table.shape[0]),
                           torch.zeros(len(y), dtype=torch.long))


def sampled_sequence_loss(net: SequenceNet, inputs: torch.Tensor, targets: torch.Tensor,
                          n_negatives: int, generator: torch.Generator | None = None
                          ) -> torch.Tensor:
    """`sequence_loss` with sampled softmax, building only the item vectors the batch touches.

    The same loss as `sequence_loss(net(inputs), targets, net.items.table(), n_negatives)`, but
    the text projection runs over the batch's items and negatives instead of the whole catalogue
    (on Beauty, 12k items, that projection and its gradient were most of a sampled step).
    """
    n = net.n_items
    neg = torch.randint(0, n, (n_negatives,), generator=generator)
    # token 0 always takes local index 0, so padding stays padding in the local numbering
    used, local = torch.unique(torch.cat([inputs.new_zeros(1), inputs.flatten(),
                                          targets.flatten(), neg + 1]), return_inverse=True)
    sizes = (1, inputs.numel(), targets.numel(), n_negatives)
    _, local_in, local_tg, local_neg = local.split(sizes)
    token_table = net.items.token_rows(used)
    hidden = net(local_in.view(inputs.shape), token_table=token_table)
    keep = targets > 0
    h, y = hidden[keep], targets[keep] - 1
    logits = sampled_logits(h, token_table[local_tg.view(targets.shape)[keep]],
                            token_table[local_neg], y, neg, n)
    return F.cross_entropy(logits, torch.zeros(len(y), dtype=torch.long))


def sampled_logits(h: torch.Tensor, positive: torch.Tensor, negatives: torch.Tensor,
                   y: torch.Tensor, neg: torch.Tensor, n_items: int) -> torch.Tensor:
    """(rows, 1 + negatives) logits, the target first. A negative that equals the target is
    masked out. Each negative's logit gets log(n_items / negatives), the uniform log-q
    correction, so the sampled partition function estimates the full one: without it the
    target's probability is overstated and its gradient fades long before the full softmax's."""
    pos_logit = (h * positive).sum(-1, keepdim=True)
    neg_logit = (h @ negatives.T + math.log(n_items / len(neg))).masked_fill(
        neg[None] == y[:, None], -math.inf)
    return torch.cat([pos_logit, neg_logit], dim=1)
