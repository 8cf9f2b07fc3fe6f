"""Keep the garbage collector's full passes off the serving path.

A loaded bundle is some 340,000 Python objects (the catalogue, the id maps, the models' own), and
CPython's full collection walks every one of them: 200-250 ms on Beauty, during which the
process answers nothing. Under load that happened every few seconds and set the p99 of every
endpoint (150-400 ms at 8-32 clients, even for `GET /items/{id}`). `gc.freeze()` moves what is
alive after start-up into a permanent generation the collector skips, so its passes only see
what requests allocate. Reference counting still frees frozen objects; only cycles among them
wait for the next full `freeze_heap` (each serving process runs one before it listens).
"""

from __future__ import annotations

import gc


def freeze_heap(collect: bool = False) -> None:
    """Freeze every object alive now. `collect` first unfreezes and collects everything (a full
    pause: only where no request waits, e.g. a worker before it listens)."""
    if collect:
        gc.unfreeze()
        gc.collect()
    gc.freeze()
