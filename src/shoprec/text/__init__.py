"""Language-model understanding of items and queries: item text, encoders, embedding cache."""

from shoprec.text.cache import EmbeddingCache, default_cache_dir, item_vectors
from shoprec.text.encoders import Encoder, get_encoder
from shoprec.text.item_text import ItemTextTemplate, build_item_text

__all__ = [
    "EmbeddingCache",
    "Encoder",
    "ItemTextTemplate",
    "build_item_text",
    "default_cache_dir",
    "get_encoder",
    "item_vectors",
]
