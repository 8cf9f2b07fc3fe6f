"""One turn of a shopping conversation: message in, constraints kept, ranked items out.

A conversation remembers what the shopper has said (topic words, category, brand, price bounds,
refused words, who it is for, the item they pointed at) and the list it answered last, so
"cheaper", "not this brand" and "like the second one" refine that answer. Ranking is the
language model's cosine between the request and each item, plus the pointed-at item's
neighbours, plus the shopper's own model scores, inside the hard constraints (which are never
broken: an item that fails one cannot appear). No generative model takes part; the words of the
answer are templates (`phrasing`). The CLI (`shoprec chat`) and `POST /chat` both call `chat_turn`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from shoprec.engine import phrasing
from shoprec.engine.asking import RECIPIENTS, Ask
from shoprec.engine.catalogue import Catalogue, category_levels
from shoprec.engine.catalogue import category_keys as _keys
from shoprec.engine.chat_limits import Unmet, hard_mask, unmet_before, why_empty
from shoprec.engine.conversation import Conversation
from shoprec.engine.reading import DEFAULT_READER, get_reader
from shoprec.engine.recommending import ShopperState, bought_with, model_scores, shopper_state
from shoprec.engine.shop_names import title_head
from shoprec.engine.understanding import understanding_for
from shoprec.models.ranking import top_k
from shoprec.store import EventRecord

if TYPE_CHECKING:
    from shoprec.engine.serving import Serving

#: weights of the standardised parts of a chat score
TEXT_WEIGHT, LIKE_WEIGHT, PERSONAL_WEIGHT, POPULAR_WEIGHT = 1.0, 1.0, 0.3, 0.1
#: how many distinct categories a request may spread over before it is too broad to rank well
BROAD_CATEGORIES = 3


@dataclass(frozen=True)
class ChatItem:
    item_id: str
    score: float
    meets: list[str]  # the constraints of the request this item satisfies, in words
    why: str  # why it fits this shopper


@dataclass(frozen=True)
class ChatAnswer:
    conversation: Conversation
    reply: str
    question: str | None  # a clarifying question, when the request was too broad
    constraints: list[str]  # everything the answer honours, in words
    notes: list[str]  # what could not be honoured, in words (the `unmet` texts)
    items: list[ChatItem]
    unmet: list[Unmet] = field(default_factory=list)  # the same, as data


def chat_turn(serving: Serving, catalogue: Catalogue, conversation: Conversation, message: str,
              events: Sequence[EventRecord] = (), k: int = 5,
              reader: str = DEFAULT_READER) -> ChatAnswer:
    """Read `message` into `conversation` (with `reader`, `engine.reading`), rank within its
    constraints, answer in its language, saying what could not be honoured."""
    ask = get_reader(reader)(understanding_for(serving, catalogue, reader), message,
                             conversation.language)
    conv = update(conversation, ask, catalogue)
    state = shopper_state(serving, events, catalogue)
    question = None
    if _too_broad(conv, ask) and not conversation.asked:
        question = phrasing.clarify(conv.language, _top_categories(serving, catalogue, state))
        conv.asked = True
    unmet = unmet_before(conv, ask, catalogue)
    allowed = hard_mask(serving, catalogue, conv)
    scores = _scores(serving, conv, state)
    banned = {i for i in state.hidden if i < len(scores)}
    if conv.like_item is not None and conv.like_item in serving.item_index:
        banned.add(serving.item_index[conv.like_item])
    idx, val = top_k(scores[None, :], k, allowed=allowed, excluded=sorted(banned))
    chosen = [(int(i), float(s)) for i, s in zip(idx[0], val[0]) if i >= 0]
    items = [ChatItem(serving.item_ids[i], s, _meets(conv, catalogue, serving.item_ids[i]),
                      _why(serving, catalogue, conv, state, i)) for i, s in chosen]
    if not items:
        unmet += why_empty(serving, catalogue, conv, banned)
    conv.shown = [c.item_id for c in items]
    conv.turns += 1
    constraints = phrasing.constraints(conv, catalogue)
    reply = phrasing.reply(conv.language, len(items), constraints, question is not None)
    return ChatAnswer(conv, reply, question, constraints, [u.text for u in unmet], items, unmet)


def update(conv: Conversation, ask: Ask, catalogue: Catalogue) -> Conversation:
    """The conversation after one more message (a new object; the old one is left as it was)."""
    conv = replace(conv, exclude=list(conv.exclude), shown=list(conv.shown), language=ask.language)
    if ask.reset:
        conv = Conversation(conv.conversation_id, conv.user_id, ask.language, turns=conv.turns)
    for constraint in ask.drop:  # "any brand": let go of what emptied the last answer
        if constraint == "brand":
            conv.brand = None
        elif constraint == "category":
            conv.category = None
        elif constraint == "price":
            conv.min_price = conv.max_price = None
        else:
            conv.exclude = []
    pointed = _pointed(conv, ask)
    if ask.category:  # a named category starts a new topic
        conv.text, conv.query, conv.like_item = ask.text, ask.query, None
        conv.category, conv.brand = ask.category, ask.brand
    elif ask.brand:  # a brand narrows the topic ("only Canon"), or opens it ("OPI red lacquer")
        conv.brand = ask.brand
        conv.text, conv.query = conv.text or ask.text, conv.query or ask.query
        conv.exclude = [w for w in conv.exclude if w.lower() != ask.brand.lower()]
    elif ask.text:
        keep = conv.category is not None and _category_has_words(catalogue, conv.category, ask.text)
        refining = keep or ask.like is not None or bool(ask.exclude) or ask.cheaper or ask.pricier
        extend = refining and bool(conv.text)
        conv.text = f"{conv.text} {ask.text}".strip() if extend else ask.text
        conv.query = f"{conv.query} {ask.query}".strip() if extend else ask.query
        conv.category = conv.category if keep else None
        conv.brand = None if not refining else conv.brand
        conv.like_item = None if not refining else conv.like_item
    if ask.like is not None and pointed is not None:
        conv.like_item = pointed
    for word in ask.exclude:
        if word.lower() not in (w.lower() for w in conv.exclude):
            conv.exclude.append(word)
        if conv.brand and conv.brand.lower() == word.lower():
            conv.brand = None
    if ask.exclude_shown_brand and pointed is not None:
        record = catalogue.get(pointed)
        name = record.brand if record and record.brand else title_head(record)
        if name and name.lower() not in (w.lower() for w in conv.exclude):
            conv.exclude.append(name)
    conv.min_price = ask.min_price if ask.min_price is not None else conv.min_price
    conv.max_price = ask.max_price if ask.max_price is not None else conv.max_price
    shown_prices = [p for i in conv.shown if (r := catalogue.get(i)) and (p := r.price)]
    if ask.cheaper and shown_prices:
        conv.max_price, conv.min_price = round(min(shown_prices) - 0.01, 2), None
    if ask.pricier and shown_prices:
        conv.min_price, conv.max_price = round(max(shown_prices) + 0.01, 2), None
    conv.recipient = ask.recipient or conv.recipient
    return conv


def _pointed(conv: Conversation, ask: Ask) -> str | None:
    """The item of the last answer the message points at (the first one by default)."""
    if not conv.shown:
        return None
    position = ask.like if ask.like is not None else 0
    if -len(conv.shown) <= position < len(conv.shown):
        return conv.shown[position]
    return None


def _category_has_words(catalogue: Catalogue, category: str, text: str) -> bool:
    words = [w for w in text.lower().split() if len(w) >= 2]
    for item_id in catalogue.in_category(category):
        record = catalogue.get(item_id)
        title = (record.title or "").lower() if record else ""
        if any(w in title for w in words):
            return True
    return False


def _too_broad(conv: Conversation, ask: Ask) -> bool:
    """Nothing yet says what kind of product: no words, category, brand or pointed-at item."""
    return not (conv.text or conv.category or conv.brand or conv.like_item)


def _top_categories(serving: Serving, catalogue: Catalogue, state: ShopperState) -> list[str]:
    """Up to three categories to offer in a clarifying question: the shopper's own first."""
    counts: dict[str, float] = {}
    pool = np.argsort(-serving.popularity)[:200]
    if len(state.history):
        pool = np.concatenate([state.history.items[::-1], pool])
    for rank, i in enumerate(pool.tolist()):
        record = catalogue.get(serving.item_ids[i]) if i < len(serving.item_ids) else None
        if record and record.category:
            leaf = category_levels(record.category)[-1]
            counts[leaf] = counts.get(leaf, 0.0) + 1.0 / (1 + rank)
    return [c for c, _ in sorted(counts.items(), key=lambda kv: -kv[1])[:BROAD_CATEGORIES]]


def _scores(serving: Serving, conv: Conversation, state: ShopperState) -> np.ndarray:
    """Standardised text cosine + pointed-at item's cosine + the shopper's model scores + a
    little popularity."""
    n = len(serving.popularity)
    total = POPULAR_WEIGHT * _z(np.log1p(serving.popularity))
    vectors, encoder = serving.searcher.query_space()
    vectors = vectors[:n]
    request = " ".join(x for x in (conv.query or conv.text, _recipient_hint(conv)) if x)
    if request:
        total += TEXT_WEIGHT * _z(vectors @ encoder.encode_query(request))
    if conv.like_item is not None and conv.like_item in serving.item_index:
        total += LIKE_WEIGHT * _z(vectors @ vectors[serving.item_index[conv.like_item]])
    if len(state.history):
        personal, strategy = model_scores(serving, state, serving.popularity)
        if strategy == "model":
            total += PERSONAL_WEIGHT * _z(personal[:n])
    return total.astype(np.float32)


def _recipient_hint(conv: Conversation) -> str:
    if conv.recipient is None:
        return ""
    english, chinese = RECIPIENTS[conv.recipient]
    return chinese if conv.language == "zh" else english


def _z(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    finite = np.isfinite(x)
    if not finite.any():
        return np.zeros_like(x)
    sd = float(x[finite].std()) or 1.0
    return np.where(finite, (x - float(x[finite].mean())) / sd, 0.0)


def _meets(conv: Conversation, catalogue: Catalogue, item_id: str) -> list[str]:
    """The request's constraints this item satisfies (all hard ones hold by construction; the
    words say which, for this item)."""
    record = catalogue.get(item_id)
    out = []
    if conv.category and record and conv.category.lower() in _keys(record.category):
        out.append(phrasing.meets_category(conv.language, conv.category))
    if conv.brand:
        out.append(phrasing.meets_brand(conv.language, conv.brand))
    if record and record.price is not None and (conv.min_price is not None
                                                or conv.max_price is not None):
        out.append(phrasing.meets_price(conv.language, record.price, conv.min_price,
                                        conv.max_price))
    if conv.exclude:
        out.append(phrasing.meets_exclude(conv.language, conv.exclude))
    if conv.like_item:
        liked = catalogue.get(conv.like_item)
        out.append(phrasing.meets_like(conv.language, liked.title if liked else conv.like_item))
    if conv.recipient:
        out.append(phrasing.meets_recipient(conv.language, conv.recipient))
    return out


def _why(serving: Serving, catalogue: Catalogue, conv: Conversation, state: ShopperState,
         item: int) -> str:
    """Why the item fits this shopper: the past item bought most with it, else the request's
    words, else its popularity in its category."""
    best = bought_with(serving, state, item)
    if best is not None:
        record = catalogue.get(serving.item_ids[best])
        title = record.title if record and record.title else serving.item_ids[best]
        return phrasing.why_history(conv.language, title)
    if conv.text:
        return phrasing.why_words(conv.language, conv.text)
    record = catalogue.get(serving.item_ids[item])
    return phrasing.why_popular(conv.language, record.category if record else None)
