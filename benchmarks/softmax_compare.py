"""Full against sampled softmax for the default SASRec under the same wall-clock cap.

Classic protocol (leave-one-out, early stopping on the validation split, no validation item
trained on), one thread; prints each epoch's validation NDCG@10 and time, then validation and
test Recall/NDCG@10 of the kept weights. Data in SHOPREC_DATA_DIR:
  python benchmarks/softmax_compare.py amazon-beauty 6 sampled 2048
  python benchmarks/softmax_compare.py amazon-beauty 6 full 0
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import json
import sys

from shoprec.data.sources import load_dataset
from shoprec.data.splits import leave_one_out
from shoprec.evaluation.metrics import evaluate
from shoprec.models.sasrec import SASRec


def main() -> None:
    name, minutes, loss, negatives = sys.argv[1], float(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    ds = load_dataset(name)
    split = leave_one_out(ds)
    model = SASRec(threads=1, progress=False, max_minutes=minutes, loss=loss,
                   n_negatives=negatives).fit(split.train, split.valid)
    for epoch in model.history_:
        print(epoch)
    valid, test = (evaluate(model, s, ds.n_items) for s in (split.valid, split.test))
    print(json.dumps({"dataset": name, "loss": loss, "negatives": negatives, "minutes": minutes,
                      "epochs": len(model.history_), "best_epoch": model.best_epoch_,
                      "train_seconds": round(model.train_seconds_, 1),
                      "valid": {k: valid[k] for k in ("recall@10", "ndcg@10")},
                      "test": {k: test[k] for k in ("recall@10", "ndcg@10")}}))


if __name__ == "__main__":
    main()
