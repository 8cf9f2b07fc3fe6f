"""The web page's language: gettext catalogs (Babel) for the templates and shop.js, chosen per request.

Why gettext through Babel: translators work on standard `.po` files (Poedit, Weblate, any
gettext tool), `pybabel extract` finds every string marked `_()` in the templates, shop.js and
Python (`make i18n` refreshes `messages.pot` and merges it into each language's `.po`), and a
string without a translation falls back to its English msgid instead of failing. The `.po`
files are compiled in memory when first used, so a plain checkout (`pip install -e .`) needs no
build step and no binary `.mo` file is kept in git.

The language of one page: `?lang=` (remembered in a cookie), else the operator's `--lang`
(`SHOPREC_LANG`) unless it is `auto`, else the browser's `Accept-Language`, else the
catalogue's own language (`shoprec.text.language.catalogue_language`).
"""

from __future__ import annotations

import weakref
from functools import cache
from io import BytesIO
from pathlib import Path

import jinja2
import polars as pl
from babel import negotiate_locale
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from fastapi.templating import Jinja2Templates

from shoprec.service.reasons import REASONS, localize_reason

LOCALES = Path(__file__).parent / "locales"
TEMPLATES = Path(__file__).parent / "templates"
DOMAIN = "messages"
#: Languages the page is translated into; the first is the msgid language.
LANGUAGES = ("en", "zh")
#: Where a `?lang=` choice is remembered, so links inside the shop keep it.
COOKIE = "shoprec-lang"
#: The last catalogue's language: (a weak reference to its items frame, "en" or "zh").
_last_catalogue: list[tuple[weakref.ref, str]] = []


def po_path(lang: str) -> Path:
    return LOCALES / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def catalog(lang: str) -> Catalog:
    """The parsed `.po` catalog of `lang` (one of LANGUAGES)."""
    if lang not in LANGUAGES:
        raise ValueError(f"language {lang!r}: expected one of {', '.join(LANGUAGES)}")
    with open(po_path(lang), "rb") as f:
        return read_po(f, locale=lang, domain=DOMAIN)


@cache
def translations(lang: str) -> Translations:
    """gettext translations of `lang`, compiled from its `.po` in memory (fuzzy entries left out,
    as `pybabel compile` does)."""
    buffer = BytesIO()
    write_mo(buffer, catalog(lang))
    buffer.seek(0)
    return Translations(fp=buffer, domain=DOMAIN)


def gettext(lang: str, message: str) -> str:
    return translations(lang).gettext(message)


@cache
def script_messages(lang: str) -> dict[str, dict[str, str]]:
    """What shop.js translates with: `messages`, msgid -> text for every message the catalog
    locates in a `.js` file, and `reasons`, each reason wording -> its translation. The page
    carries them as a JSON block, since its CSP allows no inline script."""
    messages = {m.id: gettext(lang, m.id) for m in catalog(lang)
                if isinstance(m.id, str) and m.id
                and any(str(f).endswith(".js") for f, _ in m.locations)}
    return {"messages": messages, "reasons": {w: gettext(lang, w) for w in REASONS}}


@cache
def templates_for(lang: str) -> Jinja2Templates:
    """The page templates with jinja2's i18n extension bound to `lang` (one environment per
    language: gettext callables installed on a shared one would race between requests)."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                             autoescape=jinja2.select_autoescape(), extensions=["jinja2.ext.i18n"])
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    env.globals["reason"] = lambda text: localize_reason(text, translations(lang).gettext)
    return Jinja2Templates(env=env)


def accepted_languages(header: str | None) -> list[str]:
    """The languages of an `Accept-Language` header, most wanted first (q=0 and `*` dropped)."""
    ranked = []
    for n, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        for p in params.split(";"):
            key, _, value = p.strip().partition("=")
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if tag and tag != "*" and q > 0:
            ranked.append((-q, n, tag.strip()))
    return [tag for _, _, tag in sorted(ranked)]


def supported(lang: str | None) -> str | None:
    """`lang` as one of LANGUAGES (`zh-CN`, `zh_Hans` -> `zh`), or None."""
    if not lang:
        return None
    return negotiate_locale([lang.replace("_", "-")], list(LANGUAGES), sep="-")


def page_language(query: str | None, cookie: str | None, configured: str,
                  accept_language: str | None, catalogue: str) -> str:
    """The page's language by the precedence in the module docstring."""
    for choice in (query, cookie, None if configured == "auto" else configured):
        if supported(choice):
            return str(supported(choice))
    wanted = [t.replace("_", "-") for t in accepted_languages(accept_language)]
    browser = negotiate_locale(wanted, list(LANGUAGES), sep="-") if wanted else None
    return browser or supported(catalogue) or LANGUAGES[0]


def catalogue_language_of(items: pl.DataFrame) -> str:
    """`catalogue_language` of a serving bundle's items, read once per loaded bundle."""
    if _last_catalogue and _last_catalogue[0][0]() is items:
        return _last_catalogue[0][1]
    from shoprec.text.language import catalogue_language

    lang = catalogue_language(items)
    _last_catalogue[:] = [(weakref.ref(items), lang)]
    return lang
