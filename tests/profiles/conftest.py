"""The Beauty sub-catalogue's language-model vectors (from the session's private embedding
cache); `beauty_300` itself, the first 300 catalogue items and their shoppers, is the shared
fixture in tests/conftest.py."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest


@pytest.fixture(scope="session")
def beauty_300_vectors(beauty_items_300: pl.DataFrame, text_encoder, embedding_cache_dir
                       ) -> np.ndarray:
    from shoprec.text import item_vectors

    return item_vectors(beauty_items_300, text_encoder, embedding_cache_dir)
