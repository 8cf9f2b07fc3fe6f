"""Which language a catalogue or a request is written in, read from its script.

A shop does not have to say that its catalogue is Chinese: the share of Han characters among the
letters of its titles tells. The default sentence encoder (all-MiniLM-L6-v2) was trained on
English and maps Chinese titles to nearly one point, so a Chinese catalogue is read with the
multilingual encoder instead (`catalogue_encoder`), and the web page and chat answer in Chinese.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import polars as pl

#: Han ideographs (CJK Unified Ideographs and Extension A) and CJK punctuation/full-width forms.
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
#: a text whose letters are at least this share Han characters is Chinese; mixed titles such as
#: "PHILIPS飞利浦HQ912/15两刀头充电式电动剃须刀" are Chinese (11 Han of 18 letters)
HAN_SHARE = 0.3
#: catalogue texts sampled for the decision (evenly spread; enough to be stable, cheap on 1M items)
SAMPLE = 2000
LANGUAGES = ("en", "zh")
MULTILINGUAL_ENCODER = "use-multilingual"


def han_share(text: str) -> float:
    """Share of the letters of `text` that are Han characters (0 for a text without letters)."""
    letters = _LETTER.findall(text or "")
    if not letters:
        return 0.0
    return sum(1 for ch in letters if _HAN.match(ch)) / len(letters)


def text_language(text: str) -> str:
    """"zh" when the text is written mostly in Han characters, else "en"."""
    return "zh" if han_share(text) >= HAN_SHARE else "en"


def catalogue_language(items: pl.DataFrame) -> str:
    """"zh" when most sampled titles (or the first text column) are Chinese, else "en"."""
    texts = _sample_texts(items)
    if not texts:
        return "en"
    chinese = sum(1 for t in texts if text_language(t) == "zh")
    return "zh" if chinese * 2 >= len(texts) else "en"


def _sample_texts(items: pl.DataFrame) -> list[str]:
    column = next((c for c in ("title", "name", "description", "category")
                   if c in items.columns and items[c].dtype == pl.String), None)
    if column is None or items.height == 0:
        return []
    step = max(1, items.height // SAMPLE)
    return [t for t in items[column].gather_every(step).to_list() if t]


@dataclass(frozen=True)
class EncoderChoice:
    """The encoder a catalogue is read with and why (the bundle's manifest records both)."""

    name: str
    language: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "language": self.language, "reason": self.reason}


def catalogue_encoder(items: pl.DataFrame, asked: str | None = None) -> EncoderChoice:
    """The encoder for this catalogue: `asked` when given, else SHOPREC_ENCODER when set, else the
    multilingual encoder for a Chinese catalogue and the default one otherwise."""
    from shoprec.text.encoders import DEFAULT_ENCODER

    language = catalogue_language(items)
    if asked:
        return EncoderChoice(str(asked), language, "asked for by the model's parameters")
    if os.environ.get("SHOPREC_ENCODER"):
        return EncoderChoice(os.environ["SHOPREC_ENCODER"], language, "set by SHOPREC_ENCODER")
    if language == "zh":
        return EncoderChoice(MULTILINGUAL_ENCODER, language,
                             "catalogue text is Chinese (Han script), read by the multilingual "
                             "encoder")
    return EncoderChoice(DEFAULT_ENCODER, language, "catalogue text is not Chinese: the default "
                                                    "English encoder")
