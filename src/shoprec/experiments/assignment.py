"""Who sees which variant: a salted hash of the shopper's id, sticky without a lookup.

Two independent hashes decide: the first says whether the shopper is in the experiment at all
(below the ramp), the second picks the variant by the split. Raising the ramp only adds
shoppers (those already in stay, with the same variant); the split is fixed while the
experiment runs. The same shopper therefore always gets the same variant, in every worker,
without reading anything; the service also stores each first assignment (`assignments` table)
for the sample-ratio check and for audit.
"""

from __future__ import annotations

import hashlib

from shoprec.experiments.lifecycle import Experiment

_SCALE = float(1 << 64)


def unit_hash(salt: str, purpose: str, user_id: str) -> float:
    """A uniform number in [0, 1) fixed by (salt, purpose, user id)."""
    digest = hashlib.blake2b(f"{salt}\x1f{purpose}\x1f{user_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE


def assign(experiment: Experiment, user_id: str) -> str | None:
    """The variant `user_id` sees, or None when the ramp leaves them out (they get the serving
    bundle, outside the experiment)."""
    if unit_hash(experiment.salt, "ramp", user_id) >= experiment.ramp:
        return None
    total = sum(v.weight for v in experiment.variants)
    point = unit_hash(experiment.salt, "split", user_id) * total
    for v in experiment.variants:
        point -= v.weight
        if point < 0:
            return v.name
    return experiment.variants[-1].name
