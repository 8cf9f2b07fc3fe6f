"""SASRec over shopping histories, with item vectors that read the item's text.

`SASRec` is the fit / score / save / load wrapper around `sequential_net.SequenceNet`: it turns
histories into left-padded token windows, trains with cross-entropy at every position (so every
prefix of a history is a training example), stops early on validation NDCG@10 and keeps the best
weights. A shopper is scored from their most recent `max_len` items.
"""

from __future__ import annotations

import copy
import json
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Self

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm.auto import tqdm

from shoprec.data.splits import EvalSet
from shoprec.models.base import History, TrainData, get_params
from shoprec.models.sequential_net import SequenceNet, sequence_loss

OBJECTIVES = ("causal", "masked")
LOSSES = ("auto", "full", "sampled")
ID_INITS = ("text", "random")
#: catalogues larger than this use sampled softmax when loss="auto"
FULL_SOFTMAX_MAX_ITEMS = 100_000


class SASRec:
    """Next-item transformer (SASRec; BERT4Rec-style masked training with objective="masked").

    item_repr: "id+text" (learned id vector + learned projection of the frozen text vector),
    "id" (ids only) or "text" (text only: serves items never seen in training).
    loss: "full" softmax over the catalogue, "sampled" softmax over `n_negatives` uniform items,
    or "auto" (full up to FULL_SOFTMAX_MAX_ITEMS items).
    id_init: "text" starts the id vectors at the top principal components of the items' text
    vectors (items that read alike start close; on Beauty this beat random starts on validation),
    "random" at small random vectors (the no-language-model ablation with item_repr="id");
    id_init_scale is the standard deviation of the text start (0.1; a random start has 0.02). A
    wider start keeps the text's neighbourhoods through more of training: 0.3 beat 0.1 on sparse
    Beauty but failed on dense MovieLens (the run starts over-confident and never recovers), so
    the registry's grid chooses it on validation.
    average_epochs: the weights validated and kept are an exponential moving average over about
    this many epochs of steps (None: the last step's weights); lr_decay multiplies the learning
    rate after every epoch that did not improve validation NDCG@10. Both smooth the noisy plateau
    a small catalogue reaches after a few epochs.
    stop_fraction: share of the validation shoppers kept for early stopping; the others'
    validation items become training targets, so the model also learns from their most recent
    step. 1.0 is the classic protocol (no validation item is ever trained on).
    Training stops when validation NDCG@10 has not improved for `patience` epochs, after
    `max_epochs`, after `max_minutes` of wall-clock time or after `max_cpu_minutes` of CPU time
    (all threads; the fair budget on a machine shared with other jobs).
    """

    name = "sasrec"

    def __init__(self, dim: int = 64, layers: int = 2, heads: int = 2, max_len: int = 50,
                 dropout: float = 0.5, objective: str = "causal", mask_prob: float = 0.2,
                 item_repr: str = "id+text", loss: str = "auto", n_negatives: int = 512,
                 lr: float = 1e-3, id_init: str = "text", id_init_scale: float = 0.1,
                 average_epochs: float | None = 3.0, lr_decay: float = 0.5,
                 batch_size: int = 128, max_epochs: int = 200,
                 patience: int = 5, stop_fraction: float = 1.0,
                 max_minutes: float | None = 20.0,
                 max_cpu_minutes: float | None = None, seed: int = 0,
                 threads: int = 2, text_encoder: str | None = None,
                 text_cache: str | None = None, progress: bool = True) -> None:
        self.dim, self.layers, self.heads, self.max_len = dim, layers, heads, max_len
        self.dropout, self.objective, self.mask_prob = dropout, objective, mask_prob
        self.item_repr, self.loss, self.n_negatives = item_repr, loss, n_negatives
        self.lr, self.id_init, self.id_init_scale = lr, id_init, id_init_scale
        self.average_epochs, self.lr_decay = average_epochs, lr_decay
        self.batch_size, self.max_epochs = batch_size, max_epochs
        self.patience, self.stop_fraction = patience, stop_fraction
        self.max_minutes, self.max_cpu_minutes = max_minutes, max_cpu_minutes
        self.seed, self.threads = seed, threads
        self.text_encoder, self.text_cache, self.progress = text_encoder, text_cache, progress

    # ---- training -------------------------------------------------------------------------
    def fit(self, data: TrainData, valid: EvalSet | None = None) -> Self:
        """Train on `data`; early-stop on `valid`, or on each shopper's last training item when
        no validation set is given (that item is then held out of training)."""
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, got {self.objective!r}")
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {self.loss!r}")
        if self.id_init not in ID_INITS:
            raise ValueError(f"id_init must be one of {ID_INITS}, got {self.id_init!r}")
        if not 0.0 < self.stop_fraction <= 1.0:
            raise ValueError(f"stop_fraction must be in (0, 1], got {self.stop_fraction}")
        torch.set_num_threads(self.threads)
        torch.manual_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        histories = [h.items for h in data.histories]
        bad = next((u for u, h in enumerate(histories)
                    if len(h) and (h.min() < 0 or h.max() >= data.n_items)), None)
        if bad is not None:
            raise ValueError(f"training history {bad} has an item index outside 0..{data.n_items - 1}")
        if valid is None:
            histories, valid = _hold_out_last(data.histories)
        if self.stop_fraction < 1.0:
            histories, valid = _learn_from_valid(histories, valid, self.stop_fraction, rng)
        needs_text = self.item_repr != "id" or self.id_init == "text"
        text = self._text_vectors(data) if needs_text else None
        self.net_ = self._build(data.n_items, text if self.item_repr != "id" else None)
        if self.id_init == "text" and self.net_.items.ids is not None:
            self.net_.items.ids.weight.data.copy_(_text_init(text, self.dim, self.id_init_scale))
        windows = _windows(histories, self.max_len + (self.objective == "causal"))
        sampled = self.loss == "sampled" or (self.loss == "auto" and data.n_items > FULL_SOFTMAX_MAX_ITEMS)
        optimizer = torch.optim.Adam(self.net_.parameters(), lr=self.lr)
        average = self._average(len(windows))
        best, best_state, stale, self.history_ = -1.0, None, 0, []
        start, cpu_start = time.perf_counter(), time.process_time()
        bar = tqdm(range(1, self.max_epochs + 1), desc="sasrec", disable=not self.progress)
        for epoch in bar:
            loss = self._epoch(windows, optimizer, rng, self.n_negatives if sampled else None,
                               average)
            live = self.net_
            self.net_ = average.module if average is not None else live
            ndcg = validation_ndcg(self, valid)
            self.history_.append({"epoch": epoch, "loss": round(loss, 5), "valid_ndcg@10": ndcg,
                                  "lr": optimizer.param_groups[0]["lr"],
                                  "seconds": round(time.perf_counter() - start, 1),
                                  "cpu_seconds": round(time.process_time() - cpu_start, 1)})
            bar.set_postfix(loss=f"{loss:.4f}", ndcg10=f"{ndcg:.4f}", best=f"{max(best, ndcg):.4f}")
            if ndcg > best:
                best, best_state, stale, self.best_epoch_ = ndcg, copy.deepcopy(self.net_.state_dict()), 0, epoch
            else:
                stale += 1
                for group in optimizer.param_groups:
                    group["lr"] *= self.lr_decay
            self.net_ = live
            if stale >= self.patience:
                break
            if self.max_minutes is not None and time.perf_counter() - start > 60 * self.max_minutes:
                break
            if (self.max_cpu_minutes is not None
                    and time.process_time() - cpu_start > 60 * self.max_cpu_minutes):
                break
        bar.close()
        self.net_.load_state_dict(best_state)
        self.valid_ndcg_, self.train_seconds_ = best, time.perf_counter() - start
        self.train_cpu_seconds_ = time.process_time() - cpu_start
        return self

    def _build(self, n_items: int, text: torch.Tensor | None) -> SequenceNet:
        return SequenceNet(n_items, self.dim, self.layers, self.heads, self.max_len, self.dropout,
                           causal=self.objective == "causal", item_repr=self.item_repr,
                           text_vectors=text)

    def _average(self, n_windows: int) -> AveragedModel | None:
        """Moving average of the weights over about `average_epochs` epochs of steps."""
        if self.average_epochs is None:
            return None
        steps = max(1.0, self.average_epochs * math.ceil(n_windows / self.batch_size))
        return AveragedModel(self.net_, multi_avg_fn=get_ema_multi_avg_fn(1.0 - 1.0 / steps),
                             use_buffers=True)

    def _text_vectors(self, data: TrainData) -> torch.Tensor:
        from shoprec.text import get_encoder, item_vectors

        if data.items.height != data.n_items:
            raise ValueError(f"item_repr={self.item_repr!r} needs the catalogue: TrainData.items has "
                             f"{data.items.height} rows for {data.n_items} items")
        encoder = get_encoder(self.text_encoder) if self.text_encoder else None
        cache = Path(self.text_cache) if self.text_cache else None
        vectors = item_vectors(data.items, encoder=encoder, cache_dir=cache, show_progress=self.progress)
        return torch.from_numpy(np.ascontiguousarray(vectors, dtype=np.float32))

    def _epoch(self, windows: np.ndarray, optimizer: torch.optim.Optimizer,
               rng: np.random.Generator, n_negatives: int | None,
               average: AveragedModel | None) -> float:
        """One pass over the windows in length-bucketed batches (little padding); mean loss."""
        self.net_.train()
        lengths = (windows > 0).sum(1)
        order = np.lexsort((rng.random(len(windows)), lengths))
        batches = [order[i:i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        total, count = 0.0, 0
        for b in rng.permutation(len(batches)):
            rows = windows[batches[b]]
            rows = torch.from_numpy(rows[:, -int((rows > 0).sum(1).max()):])
            inputs, targets = self._inputs_targets(rows, rng)
            table = self.net_.items.table()
            loss = sequence_loss(self.net_(inputs, table), targets, table, n_negatives)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if average is not None:
                average.update_parameters(self.net_)
            total, count = total + loss.item(), count + 1
        return total / max(count, 1)

    def _inputs_targets(self, rows: torch.Tensor, rng: np.random.Generator
                        ) -> tuple[torch.Tensor, torch.Tensor]:
        if self.objective == "causal":  # predict token t+1 from tokens <= t
            return rows[:, :-1], rows[:, 1:]
        # masked: hide random items (always at least the last one of some rows) and predict them
        real = rows > 0
        hide = torch.from_numpy(rng.random(rows.shape) < self.mask_prob) & real
        last_only = torch.from_numpy(rng.random(len(rows)) < self.mask_prob)
        hide[last_only, -1] = True
        inputs = rows.masked_fill(hide, self.net_.n_items + 1)
        return inputs, rows.masked_fill(~hide, 0)

    # ---- scoring --------------------------------------------------------------------------
    def score(self, histories: Sequence[History]) -> np.ndarray:
        """(len(histories), n_items) scores from each history's most recent items."""
        self.net_.eval()
        n = self.net_.n_items
        tokens = self._tokens(histories, n)
        order = np.argsort((tokens > 0).sum(1), kind="stable")  # similar lengths share a batch
        out = np.empty((len(histories), n), dtype=np.float32)
        with torch.no_grad():
            table = self.net_.items.table()
            for lo in range(0, len(order), 512):
                rows = tokens[order[lo:lo + 512]]
                rows = torch.from_numpy(rows[:, -max(1, int((rows > 0).sum(1).max())):])
                out[order[lo:lo + 512]] = (self.net_.last_hidden(rows, table) @ table.T).numpy()
        return out

    def _tokens(self, histories: Sequence[History], n_items: int) -> np.ndarray:
        """Left-padded tokens of the most recent items (plus the [mask] to fill when masked)."""
        masked = self.objective == "masked"
        keep = self.max_len - masked
        rows = np.zeros((len(histories), self.max_len), dtype=np.int64)
        for r, h in enumerate(histories):
            items = np.asarray(h.items, dtype=np.int64)[-keep:] if keep else np.zeros(0, np.int64)
            if len(items) and (items.min() < 0 or items.max() >= n_items):
                raise ValueError(f"history {r} has an item index outside 0..{n_items - 1}")
            rows[r, self.max_len - len(items) - masked:self.max_len - masked] = items + 1
        if masked:
            rows[:, -1] = n_items + 1
        return rows

    def add_items(self, text_vectors: np.ndarray) -> None:
        """Append brand-new items known only by their text vectors (item_repr "text" or
        "id+text"; their id vectors start at zero). They are scored from then on."""
        items = self.net_.items
        if items.repr == "id":
            raise ValueError("item_repr='id' cannot embed new items; train with 'text' or 'id+text'")
        new = torch.as_tensor(np.asarray(text_vectors, dtype=np.float32))
        if new.ndim != 2 or new.shape[1] != items.text_vectors.shape[1]:
            raise ValueError(f"text_vectors must be (n, {items.text_vectors.shape[1]}), got {tuple(new.shape)}")
        items.text_vectors = torch.cat([items.text_vectors, new])
        if items.ids is not None:
            weight = torch.cat([items.ids.weight.data, torch.zeros(len(new), items.ids.weight.shape[1])])
            items.ids = torch.nn.Embedding.from_pretrained(weight, freeze=False)
        items.n_items = self.net_.n_items = items.n_items + len(new)

    # ---- files ----------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        """config.json (parameters, catalogue size, training log) + weights.safetensors."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        state = {k: v.contiguous() for k, v in self.net_.state_dict().items()}
        save_file(state, str(path / "weights.safetensors"))
        config = {"params": get_params(self), "n_items": self.net_.n_items,
                  "best_epoch": getattr(self, "best_epoch_", None),
                  "valid_ndcg@10": getattr(self, "valid_ndcg_", None),
                  "history": getattr(self, "history_", [])}
        (path / "config.json").write_text(json.dumps(config, indent=2))

    @classmethod
    def load(cls, path: Path) -> Self:
        path = Path(path)
        config = json.loads((path / "config.json").read_text())
        model = cls(**config["params"])
        state = load_file(str(path / "weights.safetensors"))
        model.net_ = model._build(config["n_items"], state.get("items.text_vectors"))
        model.net_.load_state_dict(state)
        model.best_epoch_, model.history_ = config["best_epoch"], config["history"]
        return model


def _text_init(text: torch.Tensor, dim: int, std: float) -> torch.Tensor:
    """Id vectors that start as the top `dim` principal components of the text vectors (small
    random values fill the dimensions a tiny catalogue or a short text vector cannot)."""
    centred = text - text.mean(0)
    _, _, v = torch.linalg.svd(centred, full_matrices=False)
    out = centred @ v[:dim].T
    out = out * (std / out.std().clamp_min(1e-12))
    if out.shape[1] < dim:
        out = torch.cat([out, torch.randn(len(out), dim - out.shape[1]) * std], dim=1)
    return out


def _hold_out_last(histories: list[History]) -> tuple[list[np.ndarray], EvalSet]:
    """Shoppers with 3+ items give their last item as a validation target."""
    train, users, inputs, targets = [], [], [], []
    for u, h in enumerate(histories):
        if len(h.items) >= 3:
            train.append(h.items[:-1])
            users.append(u)
            inputs.append(History(h.items[:-1]))
            targets.append(h.items[-1:])
        else:
            train.append(h.items)
    return train, EvalSet(np.asarray(users, dtype=np.int64), inputs, targets)


def _learn_from_valid(histories: list[np.ndarray], valid: EvalSet, keep: float,
                      rng: np.random.Generator) -> tuple[list[np.ndarray], EvalSet]:
    """Keep a random `keep` share of the validation shoppers for early stopping and append the
    others' validation items to their training histories: the model also learns from the most
    recent behaviour of most shoppers, which is what a shop serves from."""
    stop = rng.random(len(valid)) < keep
    histories = list(histories)
    for n in np.flatnonzero(~stop):
        u = int(valid.users[n])
        histories[u] = np.concatenate([np.asarray(valid.histories[n].items), valid.targets[n]])
    idx = np.flatnonzero(stop)
    return histories, EvalSet(valid.users[idx], [valid.histories[n] for n in idx],
                              [valid.targets[n] for n in idx])


def _windows(histories: list[np.ndarray], width: int) -> np.ndarray:
    """Left-padded token windows (item + 1) of at most `width` items covering every history; a
    long history is cut from its end into consecutive windows so every item is a target once."""
    rows = []
    for items in histories:
        end = len(items)
        while end >= 2:
            chunk = np.asarray(items[max(0, end - width):end], dtype=np.int64) + 1
            row = np.zeros(width, dtype=np.int64)
            row[width - len(chunk):] = chunk
            rows.append(row)
            end -= width - 1
    return np.stack(rows) if rows else np.zeros((0, width), dtype=np.int64)


def validation_ndcg(model: SASRec, valid: EvalSet, k: int = 10) -> float:
    """Full-ranking NDCG@k with seen items removed and pessimistic ties (as in `evaluate`)."""
    if len(valid) == 0:
        return 0.0
    total = 0.0
    for lo in range(0, len(valid), 2048):
        hist = valid.histories[lo:lo + 2048]
        scores = torch.from_numpy(model.score(hist))
        rows = np.repeat(np.arange(len(hist)), [len(h.items) for h in hist])
        cols = np.concatenate([np.asarray(h.items, dtype=np.int64) for h in hist])
        scores[torch.from_numpy(rows), torch.from_numpy(cols)] = -math.inf
        tgt = torch.from_numpy(np.array([t[0] for t in valid.targets[lo:lo + 2048]], dtype=np.int64))
        t_score = scores.gather(1, tgt[:, None])
        rank = (scores >= t_score).sum(1) - 1
        total += float(torch.where(rank < k, 1.0 / torch.log2(rank.float() + 2), 0.0).sum())
    return total / len(valid)
