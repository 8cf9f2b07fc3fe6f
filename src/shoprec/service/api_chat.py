"""`POST /chat`: one turn of a shopping conversation (thin over `shoprec.engine.chat`).

A conversation is kept in the store under a random id the first answer hands out, so any worker
can take the next turn. Each answer is logged as an exposure on the `chat` surface and ranked by
the shopper's experiment variant when one runs. With `user_id` the answers draw on the shopper's
history and name it, so that needs the shopper's token or the shop's key, like their profile; a
conversation stays with the shopper who began it (another shopper's id gets 404, as an unknown
one does).
"""

from __future__ import annotations

import time
from dataclasses import asdict

from fastapi import APIRouter, HTTPException
from fastapi.concurrency import run_in_threadpool

from shoprec.data.errors import DataError
from shoprec.engine.chat import ChatAnswer, Conversation, chat_turn
from shoprec.engine.recommending import Ranked
from shoprec.service.cards import item_out
from shoprec.service.context import ServiceContext
from shoprec.service.deps import ChatRequest, Service
from shoprec.service.errors import error_responses
from shoprec.service.schemas import ChatIn, ChatItemOut, ChatOut, UnmetOut
from shoprec.service.variants import Choice, new_request_id
from shoprec.store import ItemRecord
from shoprec.text.language import catalogue_language

router = APIRouter(tags=["shop"])


@router.post("/chat", response_model=ChatOut,
             responses=error_responses(400, 401, 404, 413, 422, 429, 503))
async def chat(ctx: Service, body: ChatRequest) -> ChatOut:
    """Read the message (English or Chinese) into the conversation's constraints and answer with
    items, each saying which constraints it meets and why it fits; a clarifying question when
    the request is too broad to rank well."""
    started = time.perf_counter()
    conversation = await run_in_threadpool(_conversation, ctx, body)
    events = await run_in_threadpool(ctx.gate.recent_events, body.user_id) if body.user_id else []
    choice, request_id = ctx.state.pick(body.user_id), new_request_id()
    await run_in_threadpool(ctx.state.require_search, choice.serving)  # 503 while it builds
    try:
        answer = chat_turn(choice.serving, ctx.catalogue, conversation, body.message, events,
                           body.k, reader=ctx.settings.chat_reader)
    except DataError as exc:
        raise HTTPException(422, str(exc)) from None
    state = answer.conversation
    await ctx.gate.write(ctx.store.save_conversation, state.conversation_id, state.user_id,
                         state.to_json())
    ctx.telemetry.expose(request_id, body.user_id, choice, "chat", None,
                         [Ranked(i.item_id, i.score, None) for i in answer.items], started)
    return _out(ctx, answer, choice, request_id)


def _conversation(ctx: ServiceContext, body: ChatIn) -> Conversation:
    if body.conversation_id is None:
        language = body.lang or _shop_language(ctx)
        return Conversation.new(body.user_id, language)
    found = ctx.store.load_conversation(body.conversation_id)
    if found is None or found[0] != body.user_id:
        raise HTTPException(404, f"unknown conversation_id {body.conversation_id!r}")
    return Conversation.from_json(found[1])


def _shop_language(ctx: ServiceContext) -> str:
    cached = getattr(ctx, "_catalogue_language", None)
    if cached is None:
        cached = catalogue_language(ctx.serving.bundle.dataset.items)
        ctx._catalogue_language = cached  # type: ignore[attr-defined]
    return cached


def _out(ctx: ServiceContext, answer: ChatAnswer, choice: Choice, request_id: str) -> ChatOut:
    items = []
    for it in answer.items:
        record = ctx.catalogue.get(it.item_id) or ItemRecord(it.item_id)
        items.append(ChatItemOut(**item_out(record).model_dump(), score=it.score, meets=it.meets,
                                 why=it.why))
    c = answer.conversation
    return ChatOut(conversation_id=c.conversation_id, language=c.language, reply=answer.reply,
                   question=answer.question, constraints=answer.constraints, notes=answer.notes,
                   unmet=[UnmetOut(**asdict(u)) for u in answer.unmet], items=items,
                   model=choice.serving.version, request_id=request_id,
                   experiment=choice.experiment, variant=choice.variant)
