"""The transformer and the encoder on a GPU (run once on the workplace's lent H200).

Two parts, both on Amazon Beauty (real data, prepared here by `--make-kit`, since the GPU
machine has no project install and no data):
- transformer: the project's SASRec network and loss (`sasrec_net.SequenceNet`,
  `sequence_loss`: causal, ids only, dim 64, 2 layers, full softmax) in a minimal loop of the
  project's schedule (Adam 1e-3, batch 128, leave-one-out windows); seconds per epoch and
  validation NDCG@10 on the held-out last items. `SASRec.fit` itself has no device option, so
  the loop is restated here; the same script with --device cpu gives the comparison figure.
- encoder: all-MiniLM-L6-v2 through sentence-transformers on the device (weights carried as
  fp16, run in fp16 and in fp32), texts/s on Beauty's item texts, and the cosine to the CPU
  vectors of the first 512 texts.

    .venv/bin/python benchmarks/gpu_check.py --make-kit KIT       # here: data and weights
    python3 benchmarks/gpu_check.py --kit KIT --device cuda --out $OUT/gpu.json   # there
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import time
from pathlib import Path

import numpy as np
from _common import machine, write_result


def make_kit(kit: Path) -> None:
    """Beauty windows, validation rows, item texts, CPU reference vectors, fp16 MiniLM."""
    import torch
    from safetensors.torch import load_file, save_file

    from shoprec.data.sources import load_dataset
    from shoprec.data.splits import full_train
    from shoprec.models.training_loop import last_item_validation, token_windows
    from shoprec.text import build_item_text, get_encoder
    from shoprec.text.encoders import resolve_model_path

    kit.mkdir(parents=True, exist_ok=True)
    ds = load_dataset("amazon-beauty")
    train_items, valid = last_item_validation(full_train(ds).histories)
    windows = token_windows(train_items, 51)
    inputs = np.zeros((len(valid), 50), dtype=np.int64)
    for r, h in enumerate(valid.histories):
        items = np.asarray(h.items[-50:]) + 1
        inputs[r, 50 - len(items):] = items
    np.savez_compressed(kit / "beauty.npz", windows=windows, valid_inputs=inputs,
                        valid_targets=np.concatenate(valid.targets), n_items=ds.n_items)
    texts = build_item_text(ds.items)
    (kit / "texts.json").write_text(json.dumps(texts))
    ref = get_encoder(backend="torch").encode(texts[:512])
    np.save(kit / "cpu_vectors.npy", ref)
    src = resolve_model_path("minilm")
    shutil.copytree(src, kit / "minilm", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("*.safetensors", "README.md", "data_config.json"))
    save_file({k: v.to(torch.float16).contiguous() for k, v in
               load_file(src / "model.safetensors").items()}, kit / "minilm" / "model.safetensors")
    pkg = kit / "shoprec"
    pkg.mkdir(exist_ok=True)
    here = Path(__file__).resolve().parents[1] / "src" / "shoprec"
    shutil.copy(here / "__init__.py", pkg / "__init__.py")
    (pkg / "models").mkdir(exist_ok=True)
    shutil.copy(here / "models" / "sasrec_net.py", pkg / "models" / "sasrec_net.py")


def transformer(kit: Path, device: str, epochs: int) -> dict:
    import torch

    sys.path.insert(0, str(kit))
    from shoprec.models.sasrec_net import SequenceNet, sequence_loss

    z = np.load(kit / "beauty.npz")
    windows, n_items = z["windows"], int(z["n_items"])
    torch.manual_seed(0)
    net = SequenceNet(n_items, 64, 2, 2, 50, 0.5, causal=True, item_repr="id").to(device)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    win = torch.from_numpy(windows).to(device)
    vin = torch.from_numpy(z["valid_inputs"]).to(device)
    vt = torch.from_numpy(z["valid_targets"]).to(device)
    log = []
    for epoch in range(1, epochs + 1):
        _sync(device)
        start = time.perf_counter()
        net.train()
        for b in np.array_split(rng.permutation(len(windows)), math.ceil(len(windows) / 128)):
            rows = win[torch.from_numpy(b).to(device)]
            loss = sequence_loss(net(rows[:, :-1]), rows[:, 1:], net.items.table(), None)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        _sync(device)
        seconds = time.perf_counter() - start
        log.append({"epoch": epoch, "seconds": round(seconds, 3), "loss": round(loss.item(), 4),
                    "valid_ndcg@10": round(_ndcg(net, vin, vt), 4)})
        print(log[-1], flush=True)
    return {"windows": len(windows), "items": n_items, "batch_size": 128,
            "seconds_per_epoch_median": float(np.median([e["seconds"] for e in log])),
            "best_valid_ndcg@10": max(e["valid_ndcg@10"] for e in log), "epochs": log}


def _ndcg(net, inputs, targets) -> float:
    import torch

    net.eval()
    ranks = []
    with torch.no_grad():
        table = net.items.table()
        for lo in range(0, len(inputs), 4096):
            x = inputs[lo:lo + 4096]
            s = net.last_hidden(x) @ table.T
            s = torch.cat([s.new_zeros(len(s), 1), s], 1)  # column 0: the padding token
            s.scatter_(1, x, float("-inf"))  # seen items (tokens are item + 1)
            s = s[:, 1:]
            t = s.gather(1, targets[lo:lo + 4096, None])
            ranks.append((s >= t).sum(1) - 1)
    r = torch.cat(ranks).float()
    return float(torch.where(r < 10, 1 / torch.log2(r + 2), torch.zeros_like(r)).mean())


def encoder(kit: Path, device: str, limit: int | None = None) -> dict:
    from sentence_transformers import SentenceTransformer

    texts = json.loads((kit / "texts.json").read_text())[:limit]
    ref = np.load(kit / "cpu_vectors.npy")
    out = {"texts": len(texts)}
    for precision in ("fp16", "fp32"):
        model = SentenceTransformer(str(kit / "minilm"), device=device)
        model = model.half() if precision == "fp16" else model.float()
        model.encode(texts[:256], batch_size=256)  # warm-up
        _sync(device)
        start = time.perf_counter()
        vec = model.encode(texts, batch_size=256, normalize_embeddings=True)
        _sync(device)
        seconds = time.perf_counter() - start
        cos = (np.asarray(vec[:512], dtype=np.float32) * ref).sum(1)
        out[precision] = {"seconds": round(seconds, 3), "texts_per_s": round(len(texts) / seconds),
                          "min_cosine_to_cpu": round(float(cos.min()), 5)}
        print(precision, out[precision], flush=True)
    return out


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--make-kit")
    ap.add_argument("--kit")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--skip-encoder", action="store_true")
    ap.add_argument("--texts", type=int, help="encode only the first N texts (a smoke test)")
    ap.add_argument("--out")
    args = ap.parse_args()
    if args.make_kit:
        make_kit(Path(args.make_kit))
        return
    import torch

    kit = Path(args.kit)
    result = {"device": torch.cuda.get_device_name(0) if args.device.startswith("cuda")
              else "cpu", "torch": torch.__version__,
              "machine": machine(),
              "command": f"python3 benchmarks/gpu_check.py --kit KIT --device {args.device} "
                         f"--epochs {args.epochs}",
              "transformer": transformer(kit, args.device, args.epochs)}
    if not args.skip_encoder:
        result["encoder"] = encoder(kit, args.device, args.texts)
    print(json.dumps(result, indent=2))
    if args.out:
        write_result(args.out, result)


if __name__ == "__main__":
    main()
