"""Catalogue and interactions: readers, cleaning, id maps and splits."""
