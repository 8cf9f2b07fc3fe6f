"""The encoder reader: brands only on evidence, categories only when the encoder is sure, the
rest left as words; the rules reader kept as it was for comparison."""

from __future__ import annotations

import math

import pytest

from shoprec.engine.brands import BrandFacts, find_brand, unknown_brand
from shoprec.engine.calibration import in_calibration_half, threshold_for_precision
from shoprec.engine.reading import READERS, read_rules, read_with_encoder, register_reader
from shoprec.engine.shop_names import Names, Vocabulary
from shoprec.engine.understanding import understanding_for

BRANDS = {"keys": "Keys", "loves": "Loves", "opi": "OPI", "sharpie": "Sharpie",
          "universal": "Universal", "motorola": "Motorola"}
FACTS = BrandFacts(Names(BRANDS), frozenset({"keys", "loves", "opi", "universal", "motorola"}),
                   frozenset(BRANDS) | {"lipstick"})


def brand(message: str) -> str | None:
    words = " ".join(w for w in message.lower().replace(",", " ").split()
                     if w not in {"a", "for", "my", "who", "the", "by", "please"})
    return find_brand(message, message.lower(), words, FACTS)


@pytest.mark.parametrize(("message", "expected"), [
    ("a gift for my mum who loves gardening", None),  # a common word, no evidence
    ("keys for the front door", None),
    ("opi nail lacquer", None),
    ("OPI nail lacquer", "OPI"),  # casing only a name has
    ("nail polish by opi", "OPI"),
    ("opi", "OPI"),  # the brand and nothing else
    ("sharpie markers", "Sharpie"),  # no common word: no evidence needed
    ("markers compatible with Sharpie refills", None),  # what it goes with, not its maker
    ("universal remote", None),
    ("Universal remote", None),  # a capital where the sentence begins says nothing
    ("a remote from Universal", "Universal"),
    ("Ultra Fine Point Universal Markers Black", None),  # Title Case says nothing either
    ("有Motorola的吗", "Motorola"),  # a Latin name inside Chinese
])
def test_a_brand_needs_evidence_when_it_is_also_a_word(message: str, expected: str | None) -> None:
    assert brand(message) == expected


def test_a_brand_the_shop_does_not_carry_is_named() -> None:
    assert unknown_brand("a lipstick by Chanel", "a lipstick by chanel", FACTS) == "Chanel"
    assert unknown_brand("Chanel brand perfume", "chanel brand perfume", FACTS) == "Chanel"
    assert unknown_brand("I need it by Friday", "i need it by friday", FACTS) is None
    assert unknown_brand("nail polish by OPI", "nail polish by opi", FACTS) is None
    assert unknown_brand("香奈儿牌的香水", "香奈儿牌的香水", FACTS) == "香奈儿"
    assert unknown_brand("不要这个牌子", "  ", FACTS) is None


def test_threshold_for_precision() -> None:
    scores = [0.9, 0.8, 0.7, 0.6, 0.5]
    assert threshold_for_precision(scores, [True, True, True, False, False], 0.95) == 0.7
    assert threshold_for_precision(scores, [False] * 5, 0.95) == math.inf
    halves = [in_calibration_half(str(i)) for i in range(2000)]
    assert 0.45 < sum(halves) / len(halves) < 0.55


def test_office_brands_come_from_the_brand_field(office_shop) -> None:
    serving, catalogue = office_shop
    u = understanding_for(serving, catalogue, "encoder")
    field = catalogue.field_brands()
    from_titles = {k for k in u.vocabulary.brands if k not in field}
    assert from_titles  # leading title words the rules reader takes as brands ...
    readable = {display.lower() for _, display in u.brands.names.latin.values()}
    assert readable <= field and not readable & from_titles  # ... the encoder reader never
    assert {"compatible", "generic"} <= u.brands.needs_evidence  # words more than brands
    assert "sharpie" not in u.brands.needs_evidence


def test_office_categories_only_when_the_encoder_is_sure(office_shop) -> None:
    serving, catalogue = office_shop
    u = understanding_for(serving, catalogue, "encoder")
    report = u.meaning.report
    assert report["held_out"] > 300 and 0.5 <= report["threshold"] < 1.0
    read = {m: read_with_encoder(u, m, "en") for m in (
        "I'm looking for laser printers", "show me some rotary trimmers",
        "ink for my Canon printer", "I need a shampoo for curly hair", "show me Paper Pro ones",
        "something to remove nail polish", "a pen by Chanel")}
    assert read["I'm looking for laser printers"].category == "Laser Printers"
    trimmers = read["show me some rotary trimmers"]
    assert (trimmers.category, trimmers.brand) == ("Rotary Trimmers", None)
    canon = read["ink for my Canon printer"]
    assert canon.category != "Printers" and canon.brand is None  # ink that fits a Canon
    assert read_rules(u, "ink for my Canon printer", "en").category == "Printers"  # the old way
    for message in ("I need a shampoo for curly hair", "something to remove nail polish"):
        assert (read[message].category, read[message].brand) == (None, None)
        assert read[message].text  # the need stays in the words the ranking reads
    assert (read["show me Paper Pro ones"].brand, read["show me Paper Pro ones"].category) == \
        ("Paper Pro", None)
    assert read["a pen by Chanel"].unknown_brand == "Chanel"


def test_chinese_names_and_reviews(chinese_bundle) -> None:
    from shoprec.engine.catalogue import Catalogue
    from shoprec.engine.serving import Serving

    serving = Serving.load(chinese_bundle)
    catalogue = Catalogue.from_frame(serving.bundle.dataset.items)
    u = understanding_for(serving, catalogue, "encoder")
    assert read_with_encoder(u, "我想买个无线鼠标", "zh").category == "鼠标"
    assert read_with_encoder(u, "送给爸爸的剃须刀", "zh").category == "电动剃须刀"
    review = read_with_encoder(u, "物流很快，服务态度好，下次还来", "zh")
    assert (review.category, review.brand) == (None, None)
    assert read_with_encoder(u, "有Motorola的吗", "zh").brand == "Motorola"


def test_another_reader_joins_by_name(office_shop) -> None:
    from shoprec.engine.chat import Conversation, chat_turn

    seen = []

    def echo(understanding, message, default_language):
        seen.append(message)
        return read_rules(understanding, message, default_language)

    register_reader("echo-test", echo)
    try:
        serving, catalogue = office_shop
        answer = chat_turn(serving, catalogue, Conversation.new(None, "en"), "stapler",
                           reader="echo-test")
        assert seen == ["stapler"] and answer.items
        with pytest.raises(ValueError, match="unknown chat reader"):
            chat_turn(serving, catalogue, Conversation.new(None, "en"), "x", reader="nope")
    finally:
        READERS.pop("echo-test")


def test_the_rules_reader_still_reads_by_word_lists() -> None:
    vocab = Vocabulary(categories={"pens": "Pens"}, brands={"shampoo": "Shampoo"})
    assert read_rules(type("U", (), {"vocabulary": vocab})(), "I need a shampoo", "en").brand \
        == "Shampoo"  # the bug the encoder reader fixes, kept measurable


@pytest.mark.parametrize(("message", "low", "high"), [
    ("fastens up to 65 sheets", None, None),
    ("over 90 years of experience", None, None),
    ('prints up to 13" x 19"', None, None),
    ("用了不到8个月", None, None),
    ("MP3内存小", None, None),
    ("cordless phone under 30", None, 30.0),
    ("under 20 dollars for my mum", None, 20.0),
    ("100元以内的鼠标", None, 100.0),
    ("鼠标 100以内", None, 100.0),
])
def test_the_encoder_reader_reads_no_price_in_a_count(message: str, low, high) -> None:
    from shoprec.engine.asking import parse

    ask = parse(message, Vocabulary(), "zh" if "鼠标" in message else "en", units=True).ask
    assert (ask.min_price, ask.max_price) == (low, high)
