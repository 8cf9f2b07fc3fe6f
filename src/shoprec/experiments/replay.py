"""Replay: held-back real events played through the live API as simulated shoppers.

The replay method of Li et al. (WSDM 2011), for lists: each sampled shopper asks the service for
recommendations (GET /recommendations/{id}, answered by their experiment variant); they click a
served item only when it is their real next item (the held-back interaction), and the click is
sent back with the list's request id (POST /events), so the service's own attribution and
readout produce the A/B figures. A list that does not hold the real item gets no click: the
shopper's true behaviour off-list is unknown, so the estimate is of the click-through a variant
earns on what shoppers actually went on to want.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import httpx

from shoprec.experiments.holdout import HeldBack


@dataclass
class ReplayTally:
    """What the simulated shoppers saw and did, counted on the client side (a cross-check of
    the service's readout)."""

    exposures: Counter = field(default_factory=Counter)
    clicks: Counter = field(default_factory=Counter)
    failed: int = 0
    seconds: float = 0.0


def sample(held: Sequence[HeldBack], n: int | None, seed: int = 0) -> list[HeldBack]:
    """`n` held-back events drawn without replacement (all of them when n is None or larger)."""
    if n is None or n >= len(held):
        return list(held)
    return random.Random(seed).sample(list(held), n)


def replay(url: str, held: Sequence[HeldBack], k: int = 10, clients: int = 4,
           event: str = "click", progress: Callable[[int], None] = lambda _: None, *,
           api_key: str) -> ReplayTally:
    """Play `held` through the service at `url` with `clients` concurrent shoppers; their
    clicks are sent with the shop's key (`api_key`), as the shop's back end forwards them. A
    click the service refuses counts as a failed request, not as no click."""
    tally, lock = ReplayTally(), threading.Lock()
    start = time.perf_counter()

    def shopper(part: Sequence[HeldBack]) -> None:
        with httpx.Client(base_url=url, timeout=60) as http:
            for h in part:
                r = http.get(f"/recommendations/{h.user_id}", params={"k": k})
                if r.status_code != 200:
                    with lock:
                        tally.failed += 1
                    continue
                body = r.json()
                shown = [i["item_id"] for i in body["items"]]
                variant = body.get("variant") or "(none)"
                hit = h.item_id in shown
                if hit:
                    sent = http.post("/events", headers={"X-API-Key": api_key}, json={
                        "user_id": h.user_id, "item_id": h.item_id, "event": event,
                        "timestamp": h.timestamp or None, "request_id": body["request_id"],
                        "position": shown.index(h.item_id) + 1})
                    if sent.status_code != 200:
                        with lock:
                            tally.failed += 1
                        continue
                with lock:
                    tally.exposures[variant] += 1
                    tally.clicks[variant] += int(hit)
                    progress(1)

    parts = [list(held[n::clients]) for n in range(clients)]
    threads = [threading.Thread(target=shopper, args=(p,)) for p in parts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    tally.seconds = time.perf_counter() - start
    return tally
