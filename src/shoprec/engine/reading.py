"""Readers of a chat message, by name: the shop's word lists ("rules") or the language model
over the same rules ("encoder", the default).

Both read prices, refusals, pointing, who it is for and "cheaper" by the rules of
`engine.asking`, which say exactly what a shopper wrote. They differ where word lists go wrong:
"rules" take any category or brand name a message contains ("I need a shampoo" -> by Shampoo in
a shop with a brand of that name); "encoder" takes a brand only on evidence (`engine.brands`)
and a category only when the sentence encoder is sure the request means it
(`engine.category_meaning`), so a need with no catalogue field ("for curly hair", "to remove")
stays in the free text the ranking reads.

Another reader joins by `register_reader(name, fn)`, where `fn(understanding, message,
default_language) -> Ask`; for example a generative model that reads a request into the same
`Ask` (`engine.generative.read_with_llm(generator, message, vocabulary, default_language)`),
given its generator through `Understanding.extras`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from shoprec.engine.asking import Ask, parse, read_message
from shoprec.engine.brands import BrandFacts, find_brand, unknown_brand
from shoprec.engine.category_meaning import CategoryMeaning
from shoprec.engine.message_words import STOP_EN
from shoprec.engine.shop_names import Mention, Vocabulary
from shoprec.engine.title_words import name_words
from shoprec.text.language import text_language

DEFAULT_READER = "encoder"


@dataclass(frozen=True)
class Understanding:
    """What a reader may use beside the message. `brands`, `meaning` and `encode` are built
    for readers that ask for them (`needs`); `extras` carries what another reader brings (a
    generator)."""

    vocabulary: Vocabulary
    brands: BrandFacts | None = None
    meaning: CategoryMeaning | None = None
    encode: Callable[[str], np.ndarray] | None = None
    extras: dict[str, Any] = field(default_factory=dict)


Reader = Callable[[Understanding, str, str], Ask]


def read_rules(understanding: Understanding, message: str, default_language: str) -> Ask:
    """The word-list reader (kept as the baseline the encoder reader is measured against)."""
    return read_message(message, understanding.vocabulary, default_language)


def read_with_encoder(understanding: Understanding, message: str, default_language: str) -> Ask:
    """The rules for prices, refusals and pointing; a brand on evidence; a category when the
    encoder is sure of it (a named one needs less belief than one only described)."""
    parsed = parse(message, understanding.vocabulary, default_language, units=True)
    ask = parsed.ask
    facts = understanding.brands
    brand = find_brand(parsed.raw, parsed.rest, ask.text, facts) if facts else None
    named = parsed.category if _names_it(parsed.category) else None
    if brand and named and _inside(brand, named.name):
        brand = None  # "rotary trimmers" names a category, not the brand Trimmer
    elif brand and named and _inside(named.name, brand):
        named = None  # "Paper Pro" names a brand, not the category Paper
    category = None
    topic = _without(ask.text, brand, ask.language)
    meaning, encode = understanding.meaning, understanding.encode
    if named is not None and (_only_names(topic, named.name, ask.language)
                              or _heads_first_phrase(parsed.rest, named.name, ask.language)):
        category = named.name  # "I'm looking for laser printers": the request is the name
    elif topic and meaning is not None and encode is not None:
        category, _ = meaning.pick(encode(topic), named.name.lower() if named else None)
    missing = unknown_brand(parsed.raw, parsed.rest, facts) if facts and not brand else None
    return replace(ask, category=category, brand=brand, unknown_brand=missing)


def _names_it(found: Mention | None) -> bool:
    """A whole name, or the head noun a Chinese name ends with (剃须刀 for 电动剃须刀)."""
    return found is not None and (found.whole or text_language(found.name) == "zh")


def _only_names(text: str, name: str, language: str) -> bool:
    """The request's words are the category's name, give or take one word beside a name of two
    or more ("wireless laser printers"; "colored barrel" is no request for the level Colored)."""
    if language == "zh" or text_language(name) == "zh":
        key = name.lower()
        said = next((key[-n:] for n in range(len(key), 1, -1) if key[-n:] in text), key)
        return len("".join(text.replace(said, " ").split())) <= 2
    words = set(name_words(name))
    extra = sum(1 for w in text.split() if not set(name_words(w)) <= words)
    return extra <= (1 if len(words) >= 2 else 0)


_BREAK = re.compile(r"[,.;:!?]|\b(?:for|to|with|in|on|at|from|under|below|over|by|that|which|"
                    r"and|or|but|please)\b")


def _heads_first_phrase(rest: str, name: str, language: str) -> bool:
    """English: the name is what the request's first phrase asks for ("I need labels for the
    office"), with no other content word beside a one-word name."""
    if language == "zh" or text_language(name) == "zh":
        return False
    first = _BREAK.split(rest, maxsplit=1)[0]
    words = [w for w in first.split() if w not in STOP_EN]
    named = set(name_words(name))
    inside = [w for w in words if set(name_words(w)) <= named]
    extra = len(words) - len(inside)
    return bool(inside) and {x for w in inside for x in name_words(w)} >= named and \
        extra <= (1 if len(named) >= 2 else 0)


def _inside(brand: str, category: str) -> bool:
    words = set(name_words(category))
    return bool(words) and set(name_words(brand)) <= words


def _without(text: str, brand: str | None, language: str) -> str:
    """The request's words without the brand's (a brand alone says no category)."""
    if not brand:
        return text
    if language == "zh" or text_language(brand) == "zh":
        return " ".join(text.replace(brand.lower(), " ").split())
    drop = set(name_words(brand))
    return " ".join(w for w in text.split() if not set(name_words(w)) <= drop)


READERS: dict[str, Reader] = {"rules": read_rules, "encoder": read_with_encoder}
#: what each reader needs built beside the vocabulary
NEEDS: dict[str, frozenset[str]] = {"rules": frozenset(),
                                    "encoder": frozenset({"brands", "meaning", "encode"})}


def register_reader(name: str, reader: Reader, needs: frozenset[str] = frozenset()) -> None:
    """Make `reader` available as `chat_turn(..., reader=name)` and to the benchmarks."""
    READERS[name] = reader
    NEEDS[name] = needs


def get_reader(name: str) -> Reader:
    try:
        return READERS[name]
    except KeyError:
        raise ValueError(f"unknown chat reader {name!r}; known: {', '.join(READERS)}") from None
