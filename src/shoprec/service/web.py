"""The shop's web page: a feed of recommendation cards, search, item pages, the profile.

Pages are Jinja templates with autoescaping on (catalogue text is untrusted); the feed, buttons
and profile are filled by a small plain script (static/shop.js) that calls the JSON API.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from shoprec.engine.recommending import similar_items
from shoprec.service.cards import ranked_out
from shoprec.service.context import ServiceContext, get_context
from shoprec.service.schemas import ItemIdPath

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
Ctx = Annotated[ServiceContext, Depends(get_context)]


def sample_shoppers(ctx: ServiceContext) -> list[tuple[str, str]]:
    """The demo's "shop as" list: (id, token) of the bundle's first `demo_shoppers` shoppers;
    empty unless the operator turned the demo on (the page must not list real shoppers)."""
    ids = ctx.serving.bundle.dataset.user_map.ids[: ctx.settings.demo_shoppers]
    return [(str(i), ctx.settings.shopper_token(str(i))) for i in ids]


@router.get("/", response_class=HTMLResponse)
def home(request: Request, ctx: Ctx) -> HTMLResponse:
    return templates.TemplateResponse(request, "home.html", {
        "shoppers": sample_shoppers(ctx), "categories": ctx.catalogue.categories()[:30]})


@router.get("/shop/items/{item_id}", response_class=HTMLResponse)
def item_page(request: Request, ctx: Ctx, item_id: ItemIdPath) -> HTMLResponse:
    record = ctx.catalogue.get(item_id)
    if record is None:
        raise HTTPException(404, f"unknown item_id {item_id!r}")
    similar = ranked_out(ctx.catalogue, similar_items(ctx.serving, item_id, 8))
    return templates.TemplateResponse(request, "item.html", {
        "item": record, "similar": similar, "shoppers": sample_shoppers(ctx)})
