"""The transformer (SASRec) trained data-parallel: one process per Ray actor, joined by
torch.distributed over gloo (CPU, any network), each on an equal share of the training windows.

The training loop is the single-process one (`training_loop.train`): when torch.distributed
is initialised it starts every rank from rank 0's weights, trains each on its share and averages
the gradients after every backward pass, so all ranks hold the same weights at every step and
validate (and early-stop) identically. Each step averages `workers` batches, so an epoch takes
1/workers of the steps; with `scale_lr` the learning rate is multiplied by `workers` (the linear
scaling rule), so an epoch moves the weights about as far as one process does.
"""

from __future__ import annotations

import socket
from typing import Any

from shoprec.data.types import EvalSet, TrainData
from shoprec.distributed.cluster import connect
from shoprec.models.sasrec import SASRec


class _Rank:
    """One training process. Ray runs it as an actor; `fit` blocks until training ends."""

    def address(self) -> str:
        """host:port where rank 0 listens for the others (a free port on its node)."""
        import ray

        with socket.socket() as s:
            s.bind(("", 0))
            port = s.getsockname()[1]
        return f"{ray.util.get_node_ip_address()}:{port}"

    def fit(self, rank: int, world: int, master: str, params: dict[str, Any],
            data: TrainData, valid: EvalSet | None) -> dict[str, Any]:
        import ray
        import torch.distributed as dist

        dist.init_process_group("gloo", init_method=f"tcp://{master}", rank=rank,
                                world_size=world)
        try:
            model = SASRec(**params).fit(data, valid)
        finally:
            dist.destroy_process_group()
        return {"model": model if rank == 0 else None,
                "node": ray.get_runtime_context().get_node_id()}


def fit_data_parallel(data: TrainData, valid: EvalSet | None = None, workers: int = 2,
                      address: str | None = None, scale_lr: bool = True,
                      **params: Any) -> tuple[SASRec, list[str]]:
    """SASRec(**params).fit(data, valid) on `workers` Ray actors; the fitted model (rank 0's,
    equal on every rank) and the Ray nodes the ranks ran on."""
    ray = connect(address, num_cpus=workers)
    params = {"threads": 1, "progress": False, **params}
    if scale_lr:
        params["lr"] = params.get("lr", SASRec.Config.lr) * workers
    actor = ray.remote(num_cpus=1)(_Rank)
    ranks = [actor.remote() for _ in range(workers)]
    master = ray.get(ranks[0].address.remote())
    data_ref, valid_ref = ray.put(data), ray.put(valid)
    try:
        outs = ray.get([r.fit.remote(i, workers, master, params, data_ref, valid_ref)
                        for i, r in enumerate(ranks)])
    finally:
        for r in ranks:
            ray.kill(r)
    return outs[0]["model"], sorted({o["node"] for o in outs})
