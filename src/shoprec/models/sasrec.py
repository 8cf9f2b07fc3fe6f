"""SASRec over shopping histories, with item vectors that read the item's text.

`SASRec` is the fit / score wrapper around `sasrec_net.SequenceNet`: it turns histories into
left-padded token windows and trains with cross-entropy at every position (so every prefix of a
history is a training example) through `training_loop.train`, which early-stops on
validation NDCG@10 and keeps the best weights. A shopper is scored from their most recent
`max_len` items.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Self

import numpy as np
import polars as pl
import torch

from shoprec.data.types import EvalSet, History, TrainData
from shoprec.models.base import Model
from shoprec.models.files import State
from shoprec.models.sasrec_config import SASRecConfig, uses_sampled_softmax
from shoprec.models.sasrec_items import (
    NEW_ITEM_NEIGHBOURS,
    add_text_items,
    text_init,
    trained_weights,
)
from shoprec.models.sasrec_net import SequenceNet, sampled_sequence_loss, sequence_loss
from shoprec.models.training_loop import (
    TrainingRun,
    last_item_validation,
    learn_from_valid,
    split_run,
    token_windows,
    train,
    validation_ndcg,
)

__all__ = ["SASRec", "SASRecConfig", "uses_sampled_softmax"]


class SASRec(Model):
    name = "sasrec"
    Config = SASRecConfig
    config: SASRecConfig

    def __init__(self, config: SASRecConfig | Mapping[str, Any] | None = None, /,
                 **params: Any) -> None:
        """As every model, plus the `TrainingRun` keywords (threads, progress, max_minutes,
        max_cpu_minutes), kept in `self.run` for `fit` and never saved."""
        if isinstance(config, Mapping):
            config, params = None, {**config, **params}
        params, run = split_run(params)
        super().__init__(config, **params)
        self.run = TrainingRun(**run)

    # ---- training -------------------------------------------------------------------------
    def fit(self, data: TrainData, valid: EvalSet | None = None,
            run: TrainingRun | None = None) -> Self:
        """Train on `data`; early-stop on `valid`, or on each shopper's last training item when
        no validation set is given (that item is then held out of training). `run`: how this
        fit runs (threads, budgets), `self.run` when None."""
        c, run = self.config, run or self.run
        torch.set_num_threads(run.threads)
        torch.manual_seed(c.seed)
        rng = np.random.default_rng(c.seed)
        histories = [h.items for h in data.histories]
        bad = next((u for u, h in enumerate(histories)
                    if len(h) and (h.min() < 0 or h.max() >= data.n_items)), None)
        if bad is not None:
            raise ValueError(f"training history {bad} has an item index outside 0..{data.n_items - 1}")
        if valid is None:
            histories, valid = last_item_validation(data.histories)
        if c.stop_fraction < 1.0:
            histories, valid = learn_from_valid(histories, valid, c.stop_fraction, rng)
        needs_text = c.item_repr != "id" or c.id_init == "text"
        text = self._text_vectors(data, run.progress) if needs_text else None
        self.net_ = self._build(data.n_items, text if c.item_repr != "id" else None)
        if c.id_init == "text" and self.net_.items.ids is not None:
            self.net_.items.ids.weight.data.copy_(text_init(text, c.dim, c.id_init_scale))
            self.net_.items.invalidate()  # a write through .data: the version counter misses it
        n_negatives = c.n_negatives if uses_sampled_softmax(c, data.n_items) else None

        def batch_loss(rows: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
            inputs, targets = self._inputs_targets(rows, rng)
            if n_negatives is not None:
                return sampled_sequence_loss(self.net_, inputs, targets, n_negatives)
            table = self.net_.items.table()
            return sequence_loss(self.net_(inputs, table), targets, table, n_negatives)

        def validate(net: SequenceNet) -> float:
            return validation_ndcg(lambda h: self._score_with(net, h), valid)

        windows = token_windows(histories, c.max_len + (c.objective == "causal"))
        trained = train(self.net_, windows, batch_loss, validate, c.schedule(), rng, run)
        self.net_.load_state_dict(trained.state)
        self.net_.items.invalidate()
        self.history_, self.best_epoch_ = trained.history, trained.best_epoch
        self.valid_ndcg_, self.train_seconds_ = trained.best_ndcg, trained.seconds
        self.train_cpu_seconds_ = trained.cpu_seconds
        self.trained_items_ = data.n_items
        return self

    def _build(self, n_items: int, text: torch.Tensor | None) -> SequenceNet:
        c = self.config
        return SequenceNet(n_items, c.dim, c.layers, c.heads, c.max_len, c.dropout,
                           causal=c.objective == "causal", item_repr=c.item_repr,
                           text_vectors=text)

    def _text_vectors(self, data: TrainData, progress: bool) -> torch.Tensor:
        from shoprec.text.language import catalogue_encoder

        c = self.config
        if data.items.height != data.n_items:
            raise ValueError(f"item_repr={c.item_repr!r} needs the catalogue: TrainData.items has "
                             f"{data.items.height} rows for {data.n_items} items")
        self.encoder_name_ = catalogue_encoder(data.items, c.text_encoder).name
        vectors = self._encode(data.items, show_progress=progress)
        return torch.from_numpy(np.ascontiguousarray(vectors, dtype=np.float32))

    def _inputs_targets(self, rows: torch.Tensor, rng: np.random.Generator
                        ) -> tuple[torch.Tensor, torch.Tensor]:
        if self.config.objective == "causal":  # predict token t+1 from tokens <= t
            return rows[:, :-1], rows[:, 1:]
        # masked: hide random items (always at least the last one of some rows) and predict them
        real = rows > 0
        hide = torch.from_numpy(rng.random(rows.shape) < self.config.mask_prob) & real
        last_only = torch.from_numpy(rng.random(len(rows)) < self.config.mask_prob)
        hide[last_only, -1] = True
        inputs = rows.masked_fill(hide, self.net_.n_items + 1)
        return inputs, rows.masked_fill(~hide, 0)

    # ---- scoring --------------------------------------------------------------------------
    def score(self, histories: Sequence[History]) -> np.ndarray:
        """(len(histories), n_items) scores from each history's most recent items."""
        return self._score_with(self.net_, histories)

    @property
    def n_items(self) -> int:
        """Items scored, added ones included (`CountsItems`)."""
        return int(self.net_.n_items)

    def training_log(self) -> list[dict[str, Any]]:
        """Each epoch's loss and validation NDCG (`EarlyStops`)."""
        return getattr(self, "history_", [])

    def _score_with(self, net: SequenceNet, histories: Sequence[History]) -> np.ndarray:
        """Scores from `net`: the model's own, or the moving average while training validates."""
        if net.training:  # eval() walks every module: 50 us, a quarter of a shopper's forward
            net.eval()
        with torch.inference_mode():  # the width is the table's: items may be added meanwhile
            table, token_table = net.items.serving_tables()
            n = table.shape[0]
            tokens = self._tokens(histories, n)
            if len(histories) == 1:  # the online case: no sorting, no scatter into a copy
                row = torch.from_numpy(tokens[:, -max(1, int((tokens > 0).sum())):])
                return (net.last_hidden(row, token_table=token_table) @ table.T).numpy()
            order = np.argsort((tokens > 0).sum(1), kind="stable")  # similar lengths share a batch
            out = np.empty((len(histories), n), dtype=np.float32)
            for lo in range(0, len(order), 512):
                rows = tokens[order[lo:lo + 512]]
                rows = torch.from_numpy(rows[:, -max(1, int((rows > 0).sum(1).max())):])
                out[order[lo:lo + 512]] = (net.last_hidden(rows, token_table=token_table)
                                           @ table.T).numpy()
        return out

    def _tokens(self, histories: Sequence[History], n_items: int) -> np.ndarray:
        """Left-padded tokens of the most recent items (plus the [mask] to fill when masked)."""
        max_len, masked = self.config.max_len, self.config.objective == "masked"
        keep = max_len - masked
        rows = np.zeros((len(histories), max_len), dtype=np.int64)
        for r, h in enumerate(histories):
            items = np.asarray(h.items, dtype=np.int64)[-keep:] if keep else np.zeros(0, np.int64)
            if len(items) and (items.min() < 0 or items.max() >= n_items):
                raise ValueError(f"history {r} has an item index outside 0..{n_items - 1}")
            rows[r, max_len - len(items) - masked:max_len - masked] = items + 1
        if masked:
            rows[:, -1] = n_items + 1
        return rows

    # ---- new catalogue items (`AddsItems`) ----------------------------------------------------
    @property
    def adds_items(self) -> bool:
        """Only with a text path: an id-only model has nothing to give a new item a vector from."""
        return self.config.item_repr != "id"

    def add_items_from_text(self, items: pl.DataFrame) -> np.ndarray:
        """Encode new catalogue rows as the training catalogue was and append them (an id-only
        model refuses); returns their item indices. A new item's vector is its projected text
        plus, with ids, the id vector it borrows from the item that reads most alike
        (`new_item_ids`, `sasrec_items`), so it competes with trained items at once."""
        borrow = NEW_ITEM_NEIGHBOURS if self.config.new_item_ids == "borrow" else 0
        return add_text_items(self.net_, self._encode(items), borrow)

    def _encode(self, items: pl.DataFrame, show_progress: bool = False) -> np.ndarray:
        """Item text vectors from the encoder that read the training catalogue."""
        from shoprec.text import get_encoder, item_vectors
        from shoprec.text.language import catalogue_encoder

        c = self.config
        name = getattr(self, "encoder_name_", None) or catalogue_encoder(items, c.text_encoder).name
        cache = Path(c.text_cache) if c.text_cache else None
        return item_vectors(items, encoder=get_encoder(name), cache_dir=cache,
                            show_progress=show_progress)

    # ---- files ----------------------------------------------------------------------------
    @classmethod
    def _config_from(cls, config: dict[str, Any], path: Path) -> dict[str, Any]:
        """A folder written before the config split also holds its run's fields: not config."""
        return split_run(config)[0]

    def _state(self) -> State:  # trained items only: added ones come again from the catalogue
        return {"weights": trained_weights(self.net_, self.trained_items_)}

    def _fitted(self) -> dict[str, Any]:
        return {"n_items": self.trained_items_, "best_epoch": getattr(self, "best_epoch_", None),
                "valid_ndcg@10": getattr(self, "valid_ndcg_", None),
                "history": getattr(self, "history_", []),
                "encoder": getattr(self, "encoder_name_", None)}

    def _restore(self, state: dict[str, Any], fitted: dict[str, Any]) -> None:
        weights = state["weights"]
        self.net_ = self._build(fitted["n_items"], weights.get("items.text_vectors"))
        self.net_.load_state_dict(weights)
        self.trained_items_ = fitted["n_items"]
        self.best_epoch_, self.history_ = fitted.get("best_epoch"), fitted.get("history", [])
        self.valid_ndcg_ = fitted.get("valid_ndcg@10")
        self.encoder_name_ = fitted.get("encoder")

    @property
    def encoder_name(self) -> str | None:
        """The encoder that read the item texts (None for an id-only model)."""
        return getattr(self, "encoder_name_", None) if self.config.item_repr != "id" else None
