"""SASRec's config: the network and its training recipe (what a bundle records), apart from how
one fit runs on a machine (`training_loop.TrainingRun`: threads, progress, time budgets)."""

from __future__ import annotations

from dataclasses import dataclass, fields

from shoprec.models.base import ModelConfig
from shoprec.models.sasrec_items import NEW_ITEM_IDS
from shoprec.models.sasrec_net import ITEM_REPRS
from shoprec.models.training_loop import Schedule

OBJECTIVES = ("causal", "masked")
LOSSES = ("auto", "full", "sampled")
ID_INITS = ("text", "random")
#: loss="auto" samples when the catalogue holds more than this many items per negative: then the
#: sampled output layer costs at most a quarter of the full one (on one thread the full softmax
#: was about 85% of a Beauty step: 120 ms a batch, against 35 ms sampled with 2,048 negatives)
ITEMS_PER_NEGATIVE_TO_SAMPLE = 4


@dataclass(frozen=True)
class SASRecConfig(Schedule, ModelConfig):
    """Next-item transformer (SASRec; BERT4Rec-style masked training with objective="masked"):
    the network and its training recipe, what a bundle records. The schedule's fields (lr,
    lr_decay, average_epochs, batch_size, max_epochs, patience) come from `Schedule`; how a fit
    runs on a machine (threads, progress, max_minutes, max_cpu_minutes) is a `TrainingRun`, not
    part of the config.

    item_repr: "id+text" (learned id vector + learned projection of the frozen text vector),
    "id" (ids only) or "text" (text only: serves items never seen in training).
    loss: "full" softmax over the catalogue, "sampled" softmax over `n_negatives` uniform items
    (log-q corrected, so it estimates the full loss), or "auto": sampled when the catalogue has
    more than ITEMS_PER_NEGATIVE_TO_SAMPLE × n_negatives items (Beauty and Games, not Office or
    MovieLens), where an epoch costs 3-4× less and so many more fit the time budget.
    id_init: "text" starts the id vectors at the top principal components of the items' text
    vectors (items that read alike start close; on Beauty this beat random starts on validation),
    "random" at small random vectors (the no-language-model ablation with item_repr="id");
    id_init_scale is the standard deviation of the text start (0.1; a random start has 0.02). A
    wider start keeps the text's neighbourhoods through more of training: 0.3 beat 0.1 on sparse
    Beauty but failed on dense MovieLens (the run starts over-confident and never recovers), so
    the registry's grid chooses it on validation.
    stop_fraction: share of the validation shoppers kept for early stopping; the others'
    validation items become training targets, so the model also learns from their most recent
    step. 1.0 is the classic protocol (no validation item is ever trained on).
    new_item_ids: an item added after training borrows the id vector of the item that reads most
    alike ("borrow") or has its text part alone ("zero"); see `sasrec_items`.
    """

    dim: int = 64
    layers: int = 2
    heads: int = 2
    max_len: int = 50
    dropout: float = 0.5
    objective: str = "causal"
    mask_prob: float = 0.2
    item_repr: str = "id+text"
    loss: str = "auto"
    n_negatives: int = 2048
    id_init: str = "text"
    id_init_scale: float = 0.1
    stop_fraction: float = 1.0
    seed: int = 0
    text_encoder: str | None = None
    text_cache: str | None = None
    new_item_ids: str = "borrow"

    def __post_init__(self) -> None:
        for name, allowed in (("objective", OBJECTIVES), ("loss", LOSSES), ("id_init", ID_INITS),
                              ("item_repr", ITEM_REPRS), ("new_item_ids", NEW_ITEM_IDS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        if not 0.0 < self.stop_fraction <= 1.0:
            raise ValueError(f"stop_fraction must be in (0, 1], got {self.stop_fraction}")

    def schedule(self) -> Schedule:
        return Schedule(**{f.name: getattr(self, f.name) for f in fields(Schedule)})


def uses_sampled_softmax(config: SASRecConfig, n_items: int) -> bool:
    """Whether training samples negatives: always with loss="sampled", never with "full", and
    with "auto" only for catalogues large enough that the full softmax dominates a step."""
    if config.loss == "auto":
        return n_items > ITEMS_PER_NEGATIVE_TO_SAMPLE * config.n_negatives
    return config.loss == "sampled"

