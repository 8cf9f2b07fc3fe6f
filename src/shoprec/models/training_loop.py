"""How a sequence model is trained, apart from what its network is.

The loop: epochs over length-bucketed batches of token windows, an exponential moving average
of the weights, validation NDCG@10 after every epoch (the project's full-ranking metric from
`shoprec.models.ranking`, the same figure `shoprec evaluate` reports), learning-rate decay after
an epoch without gain, early stopping (`Schedule`, saved with the model), and wall-clock and
CPU-time budgets (`TrainingRun`, how this fit runs: never saved). The model supplies
only the loss of one batch and a way to score histories with a given network, so the same loop
can train another sequence network.

Also here: which shoppers early stopping watches (`last_item_validation`, `learn_from_valid`) and the
training windows cut from histories (`token_windows`).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm.auto import tqdm

from shoprec.data.types import EvalSet, History
from shoprec.models.ranking import held_out_ranks, ranking_metrics

#: one batch of left-padded token rows (and the generator that masks or samples) -> its loss
BatchLoss = Callable[[torch.Tensor, np.random.Generator], torch.Tensor]
#: the network to validate -> its validation NDCG@10
Validate = Callable[[nn.Module], float]


@dataclass(frozen=True)
class Schedule:
    """How fast and how long to learn: part of what a model learned from, so its config holds
    (and its bundle records) these fields.

    average_epochs: the weights validated and kept are an exponential moving average over about
    this many epochs of steps (None: the last step's weights). lr_decay multiplies the learning
    rate after every epoch that did not improve validation NDCG. Training stops after `patience`
    epochs without gain or after `max_epochs` (or earlier, on a `TrainingRun`'s time budget).
    """

    lr: float = 1e-3
    lr_decay: float = 0.5
    average_epochs: float | None = 3.0
    batch_size: int = 128
    max_epochs: int = 200
    patience: int = 5


@dataclass(frozen=True)
class TrainingRun:
    """How one fit runs on this machine, never saved with the model: the CPU threads, a progress
    bar, and budgets of `max_minutes` wall-clock time or `max_cpu_minutes` CPU time (all
    threads; the fair budget on a shared machine). A budget that stops training shows in the
    training log (each epoch's seconds), not in the config."""

    max_minutes: float | None = 20.0
    max_cpu_minutes: float | None = None
    threads: int = 2
    progress: bool = True
    label: str = "sasrec"


#: the keywords a model's constructor takes for its `TrainingRun` (not config fields)
RUN_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(TrainingRun) if f.name != "label")


def split_run(params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(config fields, `TrainingRun` fields) of a flat dict of parameters: a model built with
    `threads=1, max_minutes=5, dim=32` keeps the first two for its fit and saves only the last;
    a folder or manifest written before the split, holding all of them, reads the same way."""
    run = {k: v for k, v in params.items() if k in RUN_FIELDS}
    return {k: v for k, v in params.items() if k not in RUN_FIELDS}, run


@dataclass
class Trained:
    """What the loop hands back: the best epoch's (averaged) weights and the training log."""

    state: dict[str, torch.Tensor]
    best_epoch: int
    best_ndcg: float
    seconds: float
    cpu_seconds: float
    history: list[dict[str, Any]] = field(default_factory=list)


def train(net: nn.Module, windows: np.ndarray, batch_loss: BatchLoss, validate: Validate,
          schedule: Schedule, rng: np.random.Generator,
          run: TrainingRun = TrainingRun()) -> Trained:
    """Train `net` in place on `windows` (rows of item tokens) until a stopping rule fires;
    returns the weights of the epoch with the best validation NDCG (not loaded into `net`)."""
    windows = _own_shard(net, windows)
    optimizer = torch.optim.Adam(net.parameters(), lr=schedule.lr)
    average = moving_average(net, len(windows), schedule)
    best, best_state, best_epoch, stale, history = -1.0, None, 0, 0, []
    start, cpu_start = time.perf_counter(), time.process_time()
    bar = tqdm(range(1, schedule.max_epochs + 1), desc=run.label, disable=not run.progress)
    for epoch in bar:
        loss = run_epoch(net, windows, batch_loss, optimizer, average, schedule.batch_size, rng)
        kept = average.module if average is not None else net
        ndcg = validate(kept)
        history.append({"epoch": epoch, "loss": round(loss, 5), "valid_ndcg@10": ndcg,
                        "lr": optimizer.param_groups[0]["lr"],
                        "seconds": round(time.perf_counter() - start, 1),
                        "cpu_seconds": round(time.process_time() - cpu_start, 1)})
        bar.set_postfix(loss=f"{loss:.4f}", ndcg10=f"{ndcg:.4f}", best=f"{max(best, ndcg):.4f}")
        if ndcg > best:
            best, best_state, best_epoch, stale = ndcg, copy.deepcopy(kept.state_dict()), epoch, 0
        else:
            stale += 1
            for group in optimizer.param_groups:
                group["lr"] *= schedule.lr_decay
        if stale >= schedule.patience or _out_of_time(run, start, cpu_start):
            break
    bar.close()
    if best_state is None:
        raise ValueError(f"max_epochs must be at least 1, got {schedule.max_epochs}")
    return Trained(best_state, best_epoch, best, time.perf_counter() - start,
                   time.process_time() - cpu_start, history)


def _out_of_time(run: TrainingRun, start: float, cpu_start: float) -> bool:
    if run.max_minutes is not None and time.perf_counter() - start > 60 * run.max_minutes:
        return True
    return (run.max_cpu_minutes is not None
            and time.process_time() - cpu_start > 60 * run.max_cpu_minutes)


def _own_shard(net: nn.Module, windows: np.ndarray) -> np.ndarray:
    """Data-parallel training (shoprec.distributed.train starts torch.distributed): every rank
    starts from rank 0's weights and trains on an equal share of the windows, so all ranks take
    the same number of steps and their gradient all-reduces pair up. One process: unchanged."""
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return windows
    rank, world = torch.distributed.get_rank(), torch.distributed.get_world_size()
    for tensor in net.state_dict().values():
        torch.distributed.broadcast(tensor, src=0)
    share = len(windows) // world
    return windows[rank * share:(rank + 1) * share]


def _average_gradients(net: nn.Module) -> None:
    """Mean of the ranks' gradients (no-op in one process), so every rank takes the same step."""
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return
    world = torch.distributed.get_world_size()
    for p in net.parameters():
        if p.requires_grad:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
            torch.distributed.all_reduce(p.grad)
            p.grad /= world


def moving_average(net: nn.Module, n_windows: int, schedule: Schedule) -> AveragedModel | None:
    """Moving average of the weights over about `average_epochs` epochs of steps."""
    if schedule.average_epochs is None:
        return None
    steps = max(1.0, schedule.average_epochs * math.ceil(n_windows / schedule.batch_size))
    return AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(1.0 - 1.0 / steps),
                         use_buffers=True)


def run_epoch(net: nn.Module, windows: np.ndarray, batch_loss: BatchLoss,
              optimizer: torch.optim.Optimizer, average: AveragedModel | None, batch_size: int,
              rng: np.random.Generator) -> float:
    """One pass over the windows in length-bucketed batches (little padding); mean loss."""
    net.train()
    lengths = (windows > 0).sum(1)
    order = np.lexsort((rng.random(len(windows)), lengths))
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    total, count = 0.0, 0
    for b in rng.permutation(len(batches)):
        rows = windows[batches[b]]
        loss = batch_loss(torch.from_numpy(rows[:, -int((rows > 0).sum(1).max()):]), rng)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        _average_gradients(net)
        optimizer.step()
        if average is not None:
            average.update_parameters(net)
        total, count = total + loss.item(), count + 1
    return total / max(count, 1)


def validation_ndcg(score: Callable[[Sequence[History]], np.ndarray], valid: EvalSet,
                    k: int = 10, batch_size: int = 2048) -> float:
    """Full-ranking NDCG@k of `score` on `valid`, seen items removed, pessimistic ties: the
    metric `shoprec evaluate` reports, so early stopping picks what evaluation will measure."""
    if len(valid) == 0:
        return 0.0
    ranks = held_out_ranks(score, valid.histories, valid.targets, batch_size)
    return ranking_metrics(ranks, ks=(k,))[f"ndcg@{k}"]


def last_item_validation(histories: list[History]) -> tuple[list[np.ndarray], EvalSet]:
    """Shoppers with 3+ items give their last item as the early-stopping validation target
    (item indices only; `shoprec.experiments.holdout.hold_out_last` is the replay's hold-out of
    each shopper's last event in a data set)."""
    train_items, users, inputs, targets = [], [], [], []
    for u, h in enumerate(histories):
        if len(h.items) >= 3:
            train_items.append(h.items[:-1])
            users.append(u)
            inputs.append(History(h.items[:-1]))
            targets.append(h.items[-1:])
        else:
            train_items.append(h.items)
    return train_items, EvalSet(np.asarray(users, dtype=np.int64), inputs, targets)


def learn_from_valid(histories: list[np.ndarray], valid: EvalSet, keep: float,
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


def token_windows(histories: list[np.ndarray], width: int) -> np.ndarray:
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
