"""The search warm-up of one serving process, and what search requests do while it runs.

With `search_warmup` each serving bundle's catalogue is encoded for search (and the profiles'
topics built) in a background thread, so the first real search costs what every other does. The
process listens before it is done: on a first-ever run (empty embedding cache) encoding Beauty's
12,101 titles with MiniLM takes about 90 s on 2 cores, and the home page, recommendations and
item pages need none of it. Until the warm-up ends, a request that needs the text index (search,
chat) waits for it at most `search_wait_s` and then answers 503 with Retry-After, never a 500
and never a wait as long as the encoding; GET /health says `search_index: "building"`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from fastapi import HTTPException

from shoprec.engine.catalogue import Catalogue
from shoprec.engine.chat import Conversation, chat_turn
from shoprec.engine.reading import DEFAULT_READER
from shoprec.engine.searching import Searcher
from shoprec.engine.serving import Serving
from shoprec.service.errors import RETRY_AFTER_S, ErrorOut
from shoprec.text.query import WARM_UP_QUERY

log = logging.getLogger("shoprec.service")
_POLL_S = 0.05
#: OpenAPI for the 503 of routes that need the text index.
WARMING_503 = {503: {"model": ErrorOut, "description": "the search index is being built (the "
                     "server just started), or the store is unavailable; Retry-After says when "
                     "to try again"}}


class SearchWarmUp:
    """The warm-up thread of the newest serving bundle (one at a time: a new generation's
    replaces the previous one's as the one requests wait for)."""

    def __init__(self, wait_s: float, chat_reader: str = DEFAULT_READER) -> None:
        self.wait_s = wait_s
        self.chat_reader = chat_reader
        self._thread: threading.Thread | None = None
        self._searcher: Searcher | None = None

    def start(self, serving: Serving, catalogue: Catalogue) -> None:
        """Build `serving`'s search index and profiles' topics, then answer one search and one
        chat turn (first-run code paths, the chat's vocabulary), in a background thread."""
        thread = threading.Thread(target=_warm, args=(serving, catalogue, self.chat_reader),
                                  daemon=True,
                                  name="search-warm-up")
        self._thread, self._searcher = thread, serving.searcher
        thread.start()

    def running(self, serving: Serving) -> bool:
        """True while the warm-up of `serving`'s search index has not ended."""
        thread = self._thread
        return (thread is not None and thread.is_alive()
                and self._searcher is serving.searcher)

    def state(self, serving: Serving) -> str:
        """For GET /health: "building" while the warm-up runs, "ready" once a search encodes
        only its query, "on first search" when nothing builds it before (warm-up off, or it
        failed: the first search then builds it, or reports the error)."""
        if self.running(serving):
            return "building"
        return "ready" if serving.searcher.ready else "on first search"

    def require(self, serving: Serving) -> None:
        """Return once `serving`'s index is ready or nothing is building it; while the warm-up
        runs, wait up to `wait_s`, then refuse with 503 and Retry-After."""
        deadline = time.monotonic() + self.wait_s
        while self.running(serving) and not serving.searcher.ready:
            if time.monotonic() >= deadline:
                raise HTTPException(503, f"the search index is being built; try again in "
                                         f"{RETRY_AFTER_S} s",
                                    headers={"Retry-After": str(RETRY_AFTER_S)})
            time.sleep(_POLL_S)


def _warm(serving: Serving, catalogue: Catalogue, reader: str = DEFAULT_READER) -> None:
    started = time.monotonic()
    _quietly(serving.insight.warm_up)
    if serving.searcher.ready and serving.n_items:
        _quietly(lambda: serving.searcher.search(WARM_UP_QUERY, 10, serving.item_ids,
                                                 serving.item_index, catalogue))
        _quietly(lambda: chat_turn(serving, catalogue, Conversation.new(None, "en"),
                                   WARM_UP_QUERY, reader=reader))  # the reader's calibration
    log.info("search warm-up of %s ended in %.1f s", serving.version, time.monotonic() - started)


def _quietly(fn: Callable[[], object]) -> None:
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - the first search reports it, or builds it
        log.warning("search warm-up failed: %s", exc)
