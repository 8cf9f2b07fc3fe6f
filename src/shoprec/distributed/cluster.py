"""Joining a Ray cluster, or starting a local one, with one clear error when Ray is missing."""

from __future__ import annotations

from types import ModuleType


def require_ray() -> ModuleType:
    """The `ray` module, or an ImportError that says how to install it."""
    try:
        import ray
    except ImportError as exc:  # pragma: no cover - the dev extra installs ray
        raise ImportError("the distributed paths need Ray: pip install 'shoprec[ray]' "
                          "(or run the same stage without --ray, in one process)") from exc
    return ray


def connect(address: str | None = None, num_cpus: int | None = None) -> ModuleType:
    """Ray, initialised: joined to the cluster at `address` ("auto", "ray://host:10001" or
    "host:6379"), else a local cluster of `num_cpus` CPUs started for this process. An already
    initialised Ray (a test's cluster, a caller's own init) is used as it is."""
    ray = require_ray()
    if not ray.is_initialized():
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
    return ray
