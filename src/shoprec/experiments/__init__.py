"""A/B experiments between bundles: assignment, exposure logging, attribution, statistics,
replay. The service serves the variants; this package decides who gets which and what it did."""
