"""Contrastive fine-tuning of the sentence encoder on the shop's own behaviour.

Two items bought one after the other by the same shopper are a positive pair; the other pairs in
the batch are the negatives (in-batch InfoNCE, the loss sentence-transformers calls
MultipleNegativesRankingLoss, written out here in both directions). The encoder learns that
"goes with" in this shop is "close", which a general-purpose encoder only knows from language.
Runs under a wall-clock and step budget, on CUDA when there is one, and writes an ordinary local
sentence-transformers folder that `get_encoder(path)` (and every content model) accepts.
"""

from __future__ import annotations

import itertools
import json
import math
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from shoprec.data.types import TrainData
from shoprec.text.encoders import resolve_model_path, torch_threads
from shoprec.text.item_text import ItemTextTemplate, build_item_text


@dataclass(frozen=True)
class FinetuneConfig:
    base: str = "minilm"
    max_minutes: float = 15.0
    max_steps: int | None = None
    batch_size: int = 64
    learning_rate: float = 3e-5
    warmup_fraction: float = 0.1
    scale: float = 20.0  # inverse temperature of the cosine logits
    max_tokens: int = 64  # titles are short; longer texts are cut while training only
    #: train only the top N transformer layers (None: all). Frozen lower layers need no backward
    #: pass, which nearly halves a CPU step; the top layers carry most of the domain adaptation.
    train_layers: int | None = None
    seed: int = 0
    threads: int = 2
    device: str | None = None  # None: CUDA when available, else CPU


def consecutive_pairs(data: TrainData, texts: list[str]) -> np.ndarray:
    """(n, 2) item indices: each step of each training history between two different items that
    both have text. Repeated pairs are kept once."""
    pairs = set()
    for h in data.histories:
        items = h.items.tolist()
        for a, b in itertools.pairwise(items):
            if a != b and texts[a] and texts[b]:
                pairs.add((a, b))
    return np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)


def batches(pairs: np.ndarray, batch_size: int,
            rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Shuffled batches in which no item appears twice (a repeated item would be a false negative)."""
    while True:
        order = rng.permutation(len(pairs))
        batch, seen = [], set()
        for i in order:
            a, b = pairs[i]
            if a in seen or b in seen:
                continue
            batch.append(pairs[i])
            seen.update((int(a), int(b)))
            if len(batch) == batch_size:
                yield np.array(batch)
                batch, seen = [], set()


@dataclass
class FinetuneResult:
    path: Path
    steps: int
    pairs_seen: int
    pairs_available: int
    seconds: float
    device: str
    first_loss: float
    last_loss: float


def finetune_encoder(data: TrainData, out: Path, config: FinetuneConfig | None = None,
                     template: ItemTextTemplate | None = None,
                     show_progress: bool = True) -> FinetuneResult:
    """Fine-tune `config.base` on consecutive-item pairs of `data` and save it to `out`."""
    import torch
    from sentence_transformers import SentenceTransformer

    config = config or FinetuneConfig()
    texts = build_item_text(data.items, template)
    pairs = consecutive_pairs(data, texts)
    if len(pairs) < config.batch_size:
        raise ValueError(f"fine-tuning needs at least {config.batch_size} pairs of consecutive "
                         f"items with text in the training histories; found {len(pairs)}")
    device = config.device or ("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    with torch_threads(config.threads):
        model = SentenceTransformer(str(resolve_model_path(config.base)), device=device,
                                    local_files_only=True)
        model.max_seq_length = config.max_tokens
        if config.train_layers is not None:
            freeze_lower_layers(model, config.train_layers)
        steps_per_epoch = len(pairs) // config.batch_size
        planned = config.max_steps or steps_per_epoch
        trainable = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(trainable, lr=config.learning_rate)
        schedule = StepSchedule(planned, config.warmup_fraction)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
        losses = _train(model, optimizer, scheduler, schedule,
                        batches(pairs, config.batch_size, rng), texts, planned, config, device,
                        show_progress)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model.max_seq_length = 256
    model.save(str(out))
    result = FinetuneResult(
        path=out, steps=len(losses), pairs_seen=len(losses) * config.batch_size,
        pairs_available=len(pairs), seconds=round(losses_seconds(losses), 1),
        device=device, first_loss=float(np.mean([x for x, _ in losses[:20]])),
        last_loss=float(np.mean([x for x, _ in losses[-20:]])))
    (out / "shoprec_finetune.json").write_text(json.dumps(
        {**{k: str(v) if isinstance(v, Path) else v for k, v in asdict(result).items()},
         "config": asdict(config), "loss_every_10_steps": [round(x, 4) for x, _ in losses[::10]]},
        indent=2))
    return result


def freeze_lower_layers(model, train_layers: int) -> None:
    """Keep gradients only for the top `train_layers` encoder layers (and what follows them)."""
    names = [n for n, _ in model.named_parameters()]
    layer_ids = sorted({int(n.split(".layer.")[1].split(".")[0]) for n in names if ".layer." in n})
    if not layer_ids:
        raise ValueError("train_layers: this encoder has no numbered transformer layers")
    first_trained = layer_ids[-1] - train_layers + 1
    for name, param in model.named_parameters():
        if ".layer." in name:
            param.requires_grad = int(name.split(".layer.")[1].split(".")[0]) >= first_trained
        elif "embeddings" in name:
            param.requires_grad = False


def losses_seconds(losses: list[tuple[float, float]]) -> float:
    return losses[-1][1] if losses else 0.0


class StepSchedule:
    """Linear warm-up then linear decay over the steps that will actually run: every 5 steps the
    horizon shrinks to what the rest of the time budget allows at the recent speed, so a short or
    slowed-down CPU run still reaches its peak rate and anneals instead of stopping mid-warm-up."""

    def __init__(self, horizon: int, warmup_fraction: float) -> None:
        self.planned = self.horizon = max(horizon, 1)
        self.warmup_fraction = warmup_fraction

    def fit_budget(self, steps_done: int, seconds_per_step: float, seconds_left: float) -> None:
        """Re-plan: the steps done plus what the remaining time allows at the recent speed."""
        steps_left = int(max(seconds_left, 0.0) / max(seconds_per_step, 1e-9))
        self.horizon = max(1, min(self.planned, steps_done + steps_left))

    def __call__(self, step: int) -> float:
        warmup = max(1, int(min(self.horizon, self.planned) * self.warmup_fraction))
        return min(1.0, (step + 1) / warmup) * max(0.02, 1 - step / self.horizon)


def _train(model, optimizer, scheduler, schedule, batch_iter, texts, planned, config, device,
           show_progress: bool) -> list[tuple[float, float]]:
    """The loop: symmetric in-batch InfoNCE until the step or time budget is spent.
    Returns (loss, seconds since start) per step."""
    import torch
    import torch.nn.functional as F

    bar = None
    if show_progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=planned, unit="step", desc=f"fine-tuning on {device}")
    model.train()
    start, losses = time.perf_counter(), []
    labels = torch.arange(config.batch_size, device=device)
    for step in range(planned):
        batch = next(batch_iter)
        a = _embed(model, [texts[i] for i in batch[:, 0]], device)
        b = _embed(model, [texts[i] for i in batch[:, 1]], device)
        logits = config.scale * F.normalize(a, dim=-1) @ F.normalize(b, dim=-1).T
        loss = (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        elapsed = time.perf_counter() - start
        if step >= 4 and step % 5 == 4:  # re-plan on the speed of the last 5 steps
            recent = (elapsed - (losses[-5][1] if step >= 9 else 0.0)) / 5
            schedule.fit_budget(step + 1, recent, config.max_minutes * 60 - elapsed)
            if bar is not None:
                bar.total = min(planned, schedule.horizon)
        losses.append((float(loss.item()), elapsed))
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{losses[-1][0]:.3f}", pairs_s=f"{(step + 1) * len(batch) / elapsed:.0f}")
        if elapsed > config.max_minutes * 60:
            break
    if bar is not None:
        bar.close()
    model.eval()
    if not math.isfinite(losses[-1][0]):
        raise RuntimeError("fine-tuning diverged (loss is not finite); lower the learning rate")
    return losses


def _embed(model, texts: list[str], device: str):
    prepare = getattr(model, "preprocess", None) or model.tokenize  # renamed in s-t 6
    features = prepare(texts)
    features = {k: v.to(device) if hasattr(v, "to") else v for k, v in features.items()}
    return model(features)["sentence_embedding"]
