"""Cost of one SASRec training step, full softmax against sampled, on a development set.

Times `--batches` random length-bucketed batches of the default model (id + text, causal, batch
128) with one thread, each mode in turn (forward, loss, backward, Adam step), and prints ms per
batch and the training part of an epoch (validation not included). Modes: `full` (softmax over
the catalogue, the whole item table built each step), `oldK` (sampled over K shared negatives
against the whole table, as before sampled_sequence_loss), `K` (sampled_sequence_loss: only the
batch's items and negatives are built). Data in SHOPREC_DATA_DIR:
  python benchmarks/epoch_cost.py amazon-beauty 60 full old2048 2048 1024 4096 full
  python benchmarks/epoch_cost.py amazon-games 40 full 2048 full 2048
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import sys
import time

import numpy as np
import torch

from shoprec.data.sources import load_dataset
from shoprec.data.splits import leave_one_out
from shoprec.models.sasrec import SASRec
from shoprec.models.sasrec_net import sampled_sequence_loss, sequence_loss
from shoprec.models.training_loop import token_windows


def main() -> None:
    name, n_batches, modes = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    torch.set_num_threads(1)
    split = leave_one_out(load_dataset(name))
    model = SASRec(threads=1, progress=False)
    net = model._build(split.train.n_items, model._text_vectors(split.train))
    windows = token_windows([h.items for h in split.train.histories], model.config.max_len + 1)
    rng = np.random.default_rng(0)
    order = np.lexsort((rng.random(len(windows)), (windows > 0).sum(1)))
    batches = [order[i:i + 128] for i in range(0, len(order), 128)]
    chosen = rng.permutation(len(batches))[:n_batches]
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    net.train()
    for mode in modes:
        start = time.perf_counter()
        for b in chosen:
            rows = windows[batches[b]]
            rows = torch.from_numpy(rows[:, -int((rows > 0).sum(1).max()):])
            inputs, targets = rows[:, :-1], rows[:, 1:]
            if mode == "full" or mode.startswith("old"):
                table = net.items.table()
                k = None if mode == "full" else int(mode[3:])
                loss = sequence_loss(net(inputs, table), targets, table, k)
            else:
                loss = sampled_sequence_loss(net, inputs, targets, int(mode))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        per_batch = (time.perf_counter() - start) / len(chosen)
        print(f"{mode}: {per_batch * 1000:.1f} ms/batch; epoch (training only) about "
              f"{per_batch * len(batches):.1f} s over {len(batches)} batches", flush=True)


if __name__ == "__main__":
    main()
