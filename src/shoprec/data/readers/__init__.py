"""Readers turn a source on disk into a `Dataset`; one module per source format."""
