import polars as pl

from shoprec.text import ItemTextTemplate, build_item_text


def test_beauty_titles_are_the_text(beauty_items_300: pl.DataFrame) -> None:
    texts = build_item_text(beauty_items_300)
    assert len(texts) == 300
    assert texts[0] == beauty_items_300["title"][0]
    assert not any(item_id in text for item_id, text in zip(beauty_items_300["item_id"], texts)
                   if len(item_id) > 3)


def test_movielens_text_has_labelled_category(movielens) -> None:
    texts = build_item_text(movielens.items.head(2))
    assert texts[0] == "Toy Story (1995). Category: Animation, Children's, Comedy"


def test_fields_price_band_truncation_and_missing_text() -> None:
    items = pl.DataFrame({
        "item_id": ["a", "b", "c", "d"],
        "name": ["Red lipstick", "Blue mascara", None, "Lip balm"],
        "brand": ["Acme", None, None, "Acme"],
        "price": [2.0, 20.0, None, 200.0],
        "description": ["word " * 200, None, None, ""],
    })
    texts = build_item_text(items)
    assert texts[0].startswith("Red lipstick. Brand: Acme. Price: budget. word")
    assert texts[0].endswith("…") and len(texts[0]) < 600
    assert texts[1] == "Blue mascara. Price: mid-range"
    assert texts[2] == ""  # no text at all: empty, never the id
    assert texts[3] == "Lip balm. Brand: Acme. Price: premium"


def test_template_is_a_parameter() -> None:
    items = pl.DataFrame({"item_id": ["1"], "title": ["Rose shampoo"], "colour": ["pink"]})
    template = ItemTextTemplate(fields=(("colour",), ("title",)), labels={"colour": "Colour"})
    assert build_item_text(items, template) == ["Colour: pink. Rose shampoo"]
