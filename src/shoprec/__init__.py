"""shoprec: a recommendation engine for online shops driven by pretrained language models."""

__version__ = "0.1.0"
