"""The optional Ray paths: the catalogue encoded with Ray Data, every shopper's top-k precomputed
in shards over Ray workers, and the transformer trained data-parallel (torch.distributed, gloo,
one process per Ray actor). Ray is an extra (`pip install shoprec[ray]`); nothing else in
shoprec imports this package, and each function here gives the single-process result.
"""

from shoprec.distributed.cluster import connect, require_ray

__all__ = ["connect", "require_ray"]
