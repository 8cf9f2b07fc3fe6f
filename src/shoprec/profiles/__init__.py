"""Shopper profiles and explanations, built on top of any model's `score`.

Public API (what the service calls):

- `ProfileBuilder(half_life_days=180).fit(dataset_or_catalogue, item_vectors=None, tags=None)`
  then `.build(history, user_id, now)`, `.build_all(dataset)`, `.update(profile, new_events)`;
  `build_profile(history, catalogue, item_vectors, now)` for a one-off call.
  `Profile.to_json()` is the body of GET /users/{id}/profile.
- `item_tags(catalogue, item_vectors, cache_folder)`: category/brand tags, or language-model
  topics (k-means on item vectors, named by TF-IDF of titles), cached in `cache_folder`.
- `Explainer(catalogue, builder, item_vectors, similar).explain(model, history, items, ...)`
  -> one list of `Reason` (kind, text, weight) per item; `explain(...)` for one item.
- `attribute(model, history, targets)`: per-history-item contributions (exact terms for item-kNN,
  content and co-occurrence models, leave-one-out through `model.score` for any other).
- `faithfulness(model, histories)`: the check that cited items matter more than random ones.
- `bundle_profiles.builder_for_bundle(bundle)`: all of the above wired to a trained bundle.
"""

from shoprec.profiles.attribution import Attribution, attribute
from shoprec.profiles.explain import Explainer, Reason, SimilarShoppers, explain
from shoprec.profiles.faithfulness import Faithfulness, faithfulness
from shoprec.profiles.profile import Profile, ProfileBuilder, build_profile
from shoprec.profiles.tags import ItemTags, item_tags

__all__ = [
    "Attribution", "Explainer", "Faithfulness", "ItemTags", "Profile", "ProfileBuilder", "Reason",
    "SimilarShoppers", "attribute", "build_profile", "explain", "faithfulness", "item_tags",
]
