"""`POST /chat`: one message in, an answer with items that say which constraints they meet."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shoprec.service.schemas.ids import ID_PATTERN, ID_RULE
from shoprec.service.schemas.lists import RecommendationOut, Served


class ChatIn(BaseModel):
    """One message of a conversation; no `conversation_id` starts a new one."""

    model_config = ConfigDict(extra="forbid")
    message: str = Field(min_length=1, max_length=500, description="what the shopper says, in "
                                                                   "English or Chinese")
    conversation_id: str | None = Field(None, pattern=r"^[0-9a-f]{32}$",
                                        description="from the previous answer")
    user_id: str | None = Field(None, pattern=ID_PATTERN, description=ID_RULE)
    k: int = Field(5, ge=1, le=20)
    lang: Literal["en", "zh"] | None = Field(None, description="answer language for a message "
                                                               "with no letters (default: the "
                                                               "shop's)")

    @field_validator("message")
    @classmethod
    def _has_words(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("message is empty")
        return value


class ChatItemOut(RecommendationOut):
    meets: list[str] = Field(description="the request's constraints this item satisfies")
    why: str = Field(description="why it fits the shopper")


class UnmetOut(BaseModel):
    """One thing an answer could not honour, as data (the page and a client can offer `drop`)."""

    constraint: Literal["price", "brand", "category", "exclude"]
    value: str = Field(description="what was asked: the price range, the brand, ...")
    reason: Literal["no_prices", "not_carried", "emptied"] = Field(
        description="no_prices: the shop lists none; not_carried: the shop has no such brand; "
                    "emptied: nothing meets it together with the other constraints")
    text: str = Field(description="the same, in the conversation's language")
    drop: str | None = Field(None, description="the words that let this constraint go")


class ChatOut(Served):
    conversation_id: str
    language: Literal["en", "zh"]
    reply: str
    question: str | None = Field(None, description="a clarifying question, when the request "
                                                   "was too broad to rank well")
    constraints: list[str] = Field(description="everything the answer honours, in words")
    notes: list[str] = Field(description="what could not be honoured, in words")
    unmet: list[UnmetOut] = Field(default_factory=list, description="what could not be "
                                                                    "honoured, as data")
    items: list[ChatItemOut]
    model: str
