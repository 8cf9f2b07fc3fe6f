"""Recommendation reasons in the page's language.

The engine and `shoprec.profiles` word their reasons in English ("Because you bought “X”"); the
API keeps them so. The web page shows them translated: each English wording below is a msgid
with `%(name)s` where product data (a title, a query, a tag) goes, a reason is matched against
those wordings and the translation is filled with the same data. shop.js does the same with the
`reasons` part of the page's message block. A reason with no wording here is shown as it is, so
keep this list in step with the wordings in `engine/` and `profiles/explain.py`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache


def N_(message: str) -> str:
    """Marks a msgid for `pybabel extract` without translating it here."""
    return message


#: Most specific first: the first wording that matches a reason wins.
REASONS: tuple[str, ...] = (
    N_("Because you bought “%(title)s”"),
    N_("Because you rated “%(title)s”"),
    N_("Because you viewed “%(title)s”"),
    N_("Because you looked at “%(title)s”"),
    N_("Because you added to your cart “%(title)s”"),
    N_("Matches your interest in “%(topic)s” products"),
    N_("Matches your interest in the brand %(brand)s"),
    N_("Matches your interest in %(tag)s"),
    N_("Close to your search “%(query)s”"),
    N_("Close to your search"),
    N_("Popular with shoppers like you: %(n)s of the %(m)s shoppers most like you chose it"),
    N_("Matches “%(query)s”, tuned to your taste"),
    N_("Matches “%(query)s”"),
    N_("Often bought with %(title)s, which you viewed"),
    N_("Often bought with %(title)s, which you looked at"),
    N_("Often bought with %(title)s, which you put in your cart"),
    N_("Often bought with %(title)s, which you bought"),
    N_("Often bought with %(title)s, which you rated"),
    N_("Often bought with %(title)s, which you reviewed"),
    N_("Often bought with %(title)s, which you chose"),
    N_("Picked for you from your history"),
    N_("Popular in %(category)s"),
    N_("Popular with shoppers"),
    N_("Shoppers who bought this also bought"),
    N_("Described like this one"),
)
#: (profiles.bundle_profiles.VERBS and engine.recommending._VERBS name the verbs above.)
_FIELD = re.compile(r"%\((\w+)\)s")


@cache
def pattern(wording: str) -> re.Pattern[str]:
    """The regular expression that reads a reason worded `wording` back into its fields."""
    parts = _FIELD.split(wording)
    source = "".join(re.escape(p) if n % 2 == 0 else f"(?P<{p}>.+?)" for n, p in enumerate(parts))
    return re.compile(f"^{source}$", re.DOTALL)


def localize_reason(reason: str | None, translate: Callable[[str], str]) -> str | None:
    """`reason` in the language of `translate` (a gettext function); unchanged when no wording
    matches."""
    if not reason:
        return reason
    for wording in REASONS:
        found = pattern(wording).match(reason)
        if found:
            return translate(wording) % found.groupdict()
    return reason
