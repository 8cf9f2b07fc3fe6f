"""Privacy controls: differentially private published aggregates, and finding a shopper's traces.

- `noisy_item_counts` / `noisy_cooccurrence` (`mechanisms`): epsilon-DP counts with per-shopper
  contribution bounding; `DPPopular` / `DPCooccurrence` (`models`) recommend from them only.
- `find_user_traces(folder, user_id)` (`traces`): where a shopper's id still appears in a bundle,
  the check behind deletion. Deleting and exporting a shopper's stored data is the store's and
  the service's job (`shoprec.store`, `shoprec.service`).
"""

from shoprec.privacy.mechanisms import laplace_scale, noisy_cooccurrence, noisy_item_counts
from shoprec.privacy.traces import find_user_traces

__all__ = ["find_user_traces", "laplace_scale", "noisy_cooccurrence", "noisy_item_counts"]
