"""The store's tables: the catalogue, the event log, a small key/value table of facts, and the
experiments' exposures, assignments and attributed outcomes.

Events are append-only rows; a shopper's history is their rows in (timestamp, id) order. Item
`position` is the catalogue order (the item index a retrained bundle gives each item).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

#: Identifier columns: long enough for any shop's ids, short enough to index everywhere.
ID_LENGTH = 256
EVENT_ID_LENGTH = 128
#: rows per INSERT statement in a batch write
INSERT_CHUNK = 5000

_BIGINT_PK = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements INTEGER only

items = Table(
    "items", metadata,
    Column("position", _BIGINT_PK, primary_key=True, autoincrement=True),
    Column("item_id", String(ID_LENGTH), nullable=False, unique=True),
    Column("title", Text),
    Column("category", Text),
    Column("brand", Text),
    Column("price", Float),
    Column("consumable", Boolean, nullable=False, default=False),
    Column("attributes", Text),  # JSON object of the catalogue's other columns
    Column("updated_at", Float, nullable=False),
)

events = Table(
    "events", metadata,
    Column("id", _BIGINT_PK, primary_key=True, autoincrement=True),
    Column("user_id", String(ID_LENGTH), nullable=False),
    Column("item_id", String(ID_LENGTH), nullable=False),
    Column("event", String(16), nullable=False),
    Column("value", Float),
    Column("timestamp", BigInteger),
    Column("received_at", Float, nullable=False),
    # the client's own id for the event, unique per shopper: a retried request is stored once
    Column("event_id", String(EVENT_ID_LENGTH)),
    Index("ix_events_user", "user_id", "id"),
    Index("ux_events_user_event_id", "user_id", "event_id", unique=True),
)

#: chat conversations: what the shopper asked for so far (a JSON state), removed with the shopper
conversations = Table(
    "conversations", metadata,
    Column("conversation_id", String(64), primary_key=True),
    Column("user_id", String(ID_LENGTH)),
    Column("state", Text, nullable=False),
    Column("updated_at", Float, nullable=False),
    Index("ix_conversations_user", "user_id"),
)

facts = Table(
    "facts", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

# ---- experiments: what each shopper was shown, under which variant, and what it led to -----

#: One row per served list (feed, search, similar, chat, ad slot): the items in order, as JSON.
exposures = Table(
    "exposures", metadata,
    Column("id", _BIGINT_PK, primary_key=True, autoincrement=True),
    Column("request_id", String(64), nullable=False, unique=True),
    Column("created_at", Float, nullable=False),
    Column("user_id", String(ID_LENGTH)),
    Column("experiment", String(64)),
    Column("variant", String(64)),
    Column("surface", String(16), nullable=False),
    Column("item_type", String(16)),
    Column("items", Text, nullable=False),  # JSON list of item ids, position 1 first
    Column("latency_ms", Float, nullable=False),
    Column("status", Integer, nullable=False),  # 200 served; 500 the request failed
    Index("ix_exposures_experiment", "experiment", "created_at"),
    Index("ix_exposures_created", "created_at"),
)

#: The variant each shopper was first given in an experiment (written once per shopper).
assignments = Table(
    "assignments", metadata,
    Column("experiment", String(64), primary_key=True),
    Column("user_id", String(ID_LENGTH), primary_key=True),
    Column("variant", String(64), nullable=False),
    Column("assigned_at", Float, nullable=False),
)

#: Events that named the list (request id) they came from: clicks, carts, purchases.
outcomes = Table(
    "outcomes", metadata,
    Column("id", _BIGINT_PK, primary_key=True, autoincrement=True),
    Column("request_id", String(64), nullable=False),
    Column("user_id", String(ID_LENGTH), nullable=False),
    Column("item_id", String(ID_LENGTH), nullable=False),
    Column("event", String(16), nullable=False),
    Column("position", Integer),  # 1 = first card, as the client said (else found from the list)
    Column("price", Float),  # the item's catalogue price when the event arrived
    Column("created_at", Float, nullable=False),
    Index("ix_outcomes_request", "request_id"),
)

#: every shopper's top-k computed offline (`shoprec precompute`): the items as a JSON list of ids,
#: their scores likewise, and the bundle version and time they were computed for
precomputed = Table(
    "precomputed", metadata,
    Column("user_id", String(ID_LENGTH), primary_key=True),
    Column("items", Text, nullable=False),
    Column("scores", Text, nullable=False),
    Column("version", String(ID_LENGTH), nullable=False),
    Column("computed_at", Float, nullable=False),
)

#: each shopper's token version (`shoprec.store.shopper_keys`): a random value their tokens are
#: signed with, made when a token is first issued and deleted with the shopper's other rows
shopper_keys = Table(
    "shopper_keys", metadata,
    Column("user_id", String(ID_LENGTH), primary_key=True),
    Column("version", String(64), nullable=False),
    Column("issued_at", Float, nullable=False),
)
