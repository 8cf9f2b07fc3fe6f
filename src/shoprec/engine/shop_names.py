"""The shop's own names as a chat message may use them: category levels and brands.

Found by words, not by a regular expression per name (a shop has thousands of brands): a Latin
name matches whole words, as written or singular; a Chinese name matches as a substring, or by its
last three or more characters, since the head noun ends a Chinese name (电动剃须刀 ~ 剃须刀).
The names are those the live catalogue can answer (`Catalogue.names`): category levels and
brands its items carry, and for items without a brand the titles' leading Latin words that read
as brands (Kingston, Rapoo; not "Nail" or "The"). The vocabulary follows every catalogue
change, and is rebuilt only when the names themselves changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shoprec.engine.catalogue import Catalogue
from shoprec.engine.title_words import WORDS as _WORDS
from shoprec.engine.title_words import singular
from shoprec.text.language import text_language


class Names:
    """A set of shop names (category levels or brands) prepared for finding them in a message:
    Latin names by their words (as written and singular), Chinese names by substring."""

    def __init__(self, names: dict[str, str]) -> None:
        self.latin: dict[str, tuple[int, str]] = {}
        self.chinese: list[tuple[str, str]] = []
        self.longest = 1
        for key, display in names.items():
            if len(key) < 2:
                continue
            if text_language(key) == "zh":
                self.chinese.append((key, display))
                continue
            words = _words(key)
            if words:
                self.longest = max(self.longest, len(words))
                for form in {" ".join(words), singular(" ".join(words))}:
                    self.latin.setdefault(form, (len(key), display))

    def find(self, text: str) -> Mention | None:
        """The name the text mentions at greatest length (a whole name beats a part of one)."""
        best: Mention | None = None
        for key, display in self.chinese:  # the head noun ends a Chinese name: 电动剃须刀 ~ 剃须刀
            matched = next((n for n in range(len(key), min(len(key), 3) - 1, -1)
                            if key[-n:] in text), 0)
            if matched:
                at = text.index(key[-matched:])
                found = Mention(display, matched, matched == len(key), at, at + matched)
                best = found if best is None or found.rank > best.rank else best
        words = [(m.group(0), m.start(), m.end()) for m in _WORDS.finditer(text.lower())]
        for n in range(min(self.longest, len(words)), 0, -1):
            for start in range(len(words) - n + 1):
                gram = " ".join(w for w, _, _ in words[start:start + n])
                hit = self.latin.get(gram) or self.latin.get(singular(gram))
                if hit:
                    found = Mention(hit[1], hit[0], True, words[start][1], words[start + n - 1][2])
                    best = found if best is None or found.rank > best.rank else best
        return best


@dataclass(frozen=True)
class Mention:
    """A shop name found in a message: its display form and where it stands in the text."""

    name: str
    length: int  # characters of the name matched
    whole: bool  # the whole name, not just its head noun
    start: int
    end: int

    @property
    def rank(self) -> tuple[int, bool]:
        return (self.length, self.whole)

    def overlaps(self, other: Mention | None) -> bool:
        return other is not None and self.start < other.end and other.start < self.end


def _words(text: str) -> list[str]:
    return _WORDS.findall(text.lower())


@dataclass(frozen=True)
class Vocabulary:
    """The shop's own names a message may use: category levels and brands (display forms by
    their lower-case key)."""

    categories: dict[str, str] = field(default_factory=dict)
    brands: dict[str, str] = field(default_factory=dict)
    category_names: Names = field(init=False, repr=False, compare=False)
    brand_names: Names = field(init=False, repr=False, compare=False)
    all_names: Names = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "category_names", Names(self.categories))
        object.__setattr__(self, "brand_names", Names(self.brands))
        object.__setattr__(self, "all_names", Names({**self.brands, **self.categories}))


def vocabulary(catalogue: Catalogue) -> Vocabulary:
    """The names of the live catalogue a message may use; the same object while they stay the
    same (a catalogue change that brings no new name costs no rebuild)."""
    cached = getattr(catalogue, "_chat_vocabulary", None)
    if cached is not None and cached[0] == catalogue.version:
        return cached[1]
    categories, brands = catalogue.names()
    vocab = cached[1] if cached is not None else None
    if vocab is None or vocab.categories != categories or vocab.brands != brands:
        vocab = Vocabulary(dict(categories), dict(brands))
    catalogue._chat_vocabulary = (catalogue.version, vocab)  # type: ignore[attr-defined]
    return vocab


def title_head(record: object) -> str | None:
    """A brand-less catalogue's stand-in for a brand: the title's first word ("Rapoo 雷柏 ...")."""
    title = getattr(record, "title", None) or ""
    head = title.split()[0] if title.split() else ""
    return head if len(head) >= 2 else None
