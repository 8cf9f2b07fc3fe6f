import json

import numpy as np
import pytest

from shoprec.data.splits import full_train, leave_one_out
from shoprec.models.content import ContentModel
from shoprec.models.itemknn import ItemKNN
from shoprec.models.ranking import top_k
from shoprec.models.userknn import UserKNN
from shoprec.privacy.models import DPCooccurrence
from shoprec.profiles.attribution import attribute
from shoprec.profiles.attribution import leave_one_out as loo_attribution
from shoprec.profiles.explain import Explainer, Reason, SimilarShoppers, explain
from shoprec.profiles.profile import ProfileBuilder


@pytest.fixture(scope="module")
def slice_split(beauty_slice):
    return leave_one_out(beauty_slice)


@pytest.fixture(scope="module")
def content_300(beauty_300, embedding_cache_dir):
    return ContentModel(cache_dir=str(embedding_cache_dir)).fit(full_train(beauty_300))


def _long_histories(split, n: int = 20):
    return [h for h in split.test.histories if len(set(h.items.tolist())) >= 4][:n]


@pytest.mark.parametrize("model", [ItemKNN(), DPCooccurrence(epsilon=None)],
                         ids=lambda m: m.name)
def test_exact_terms_sum_to_the_score_and_equal_leave_one_out(model, slice_split) -> None:
    model.fit(slice_split.train)
    for h in _long_histories(slice_split):
        targets = top_k(model.score([h]), 5, [h])[0][0]
        att = attribute(model, h, targets)
        assert att.method == "exact"
        np.testing.assert_allclose(att.scores, model.score([h])[0, targets], rtol=1e-5, atol=1e-6)
        # both models are linear in the history: leaving an item out removes exactly its term
        loo = loo_attribution(model, h, targets)
        np.testing.assert_array_equal(loo.items, att.items)
        np.testing.assert_allclose(loo.terms, att.terms, rtol=1e-4, atol=1e-5)


def test_content_terms_sum_to_its_cosine_score(content_300, beauty_300) -> None:
    for h in full_train(beauty_300).histories[:20]:
        targets = top_k(content_300.score([h]), 5, [h])[0][0]
        att = attribute(content_300, h, targets)
        assert att.method == "exact"
        np.testing.assert_allclose(att.scores, content_300.score([h])[0, targets], atol=1e-5)


def test_other_models_fall_back_to_leave_one_out(slice_split) -> None:
    model = UserKNN(aggregate="sum").fit(slice_split.train)
    h = _long_histories(slice_split, 1)[0]
    item = int(top_k(model.score([h]), 1, [h])[0][0, 0])
    att = attribute(model, h, [item])
    assert att.method == "leave-one-out"
    cited, drop = att.top(0)
    without = h.items[h.items != cited]
    rescored = model.score([type(h)(without)])[0, item]
    assert drop == pytest.approx(model.score([h])[0, item] - rescored, rel=1e-5)


def test_reasons_carry_the_numbers_behind_them(beauty_slice, slice_split) -> None:
    model = ItemKNN().fit(slice_split.train)
    similar = SimilarShoppers(n_neighbours=30).fit(slice_split.train.matrix)
    explainer = Explainer(beauty_slice.items, similar=similar)
    h = _long_histories(slice_split, 1)[0]
    items = top_k(model.score([h]), 3, [h])[0][0]
    reasons = explainer.explain(model, h, items)
    titles = beauty_slice.items["title"].to_list()
    ids = beauty_slice.items["item_id"].to_list()
    near = similar.neighbours(h)
    assert 0 < len(near) <= 30
    for item, rs in zip(items, reasons):
        bought = next(r for r in rs if r.kind == "because_you_bought")
        terms = attribute(model, h, [item])
        cited = int(terms.items[np.argmax(terms.terms[0])])
        assert bought.item_id == ids[cited] and titles[cited] in bought.text
        assert bought.weight == pytest.approx(terms.terms[0].max(), abs=1e-6)
        share = slice_split.train.matrix[near][:, [item]].sum() / len(near)
        popular = [r for r in rs if r.kind == "popular_with_similar"]
        assert (popular[0].weight if popular else 0.0) == pytest.approx(share, abs=1e-6)


def test_tag_and_query_reasons(beauty_300, beauty_300_vectors, content_300, text_encoder) -> None:
    builder = ProfileBuilder().fit(beauty_300, beauty_300_vectors)
    h = max(full_train(beauty_300).histories, key=len)
    query = "nail polish"
    q = text_encoder.encode([query])[0]
    items = top_k(content_300.score([h]), 5, [h])[0][0]
    reasons = Explainer(beauty_300.items, builder, beauty_300_vectors).explain(
        content_300, h, items, query=query, query_vector=q)
    profile = builder.build(h)
    shares = dict(profile.tags(100))
    for item, rs in zip(items, reasons):
        for r in rs:
            if r.kind == "matches_tag":
                assert r.tag in builder.tags_.of_item(int(item))
                assert r.weight == pytest.approx(shares[r.tag], abs=1e-6)
            if r.kind == "query_match":
                assert query in r.text
                assert r.weight == pytest.approx(float(beauty_300_vectors[item] @ q), abs=1e-5)
    kinds = {r.kind for rs in reasons for r in rs}
    assert {"because_you_bought", "matches_tag", "query_match"} <= kinds


def test_explain_one_item_and_json(beauty_slice, slice_split) -> None:
    model = ItemKNN().fit(slice_split.train)
    h = _long_histories(slice_split, 1)[0]
    item = int(top_k(model.score([h]), 1, [h])[0][0, 0])
    reasons = explain(model, h, item, beauty_slice.items)
    body = json.loads(json.dumps([r.to_json() for r in reasons]))
    assert body[0]["kind"] == "because_you_bought" and body[0]["method"] == "exact"
    assert "tag" not in body[0]  # unset fields are left out
    empty = type(h)(np.zeros(0, dtype=np.int64))
    assert explain(model, empty, item, beauty_slice.items) == []
    assert Reason("query_match", "x", 0.5).to_json() == {"kind": "query_match", "text": "x",
                                                         "weight": 0.5}
