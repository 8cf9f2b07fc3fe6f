"""The shop's web page: a feed of recommendation cards, search, item pages, the profile.

Pages are Jinja templates with autoescaping on (catalogue text is untrusted); the feed, buttons
and profile are filled by a small plain script (static/shop.js) that calls the JSON API. Every
string on them is translated (`shoprec.service.i18n`: English and Chinese gettext catalogs).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse

from shoprec.engine.recommending import similar_items
from shoprec.service.cards import ranked_out
from shoprec.service.context import ServiceContext
from shoprec.service.deps import Service
from shoprec.service.i18n import (
    COOKIE,
    LANGUAGES,
    catalogue_language_of,
    page_language,
    script_messages,
    supported,
    templates_for,
)
from shoprec.service.retrain_job import last_job
from shoprec.service.schemas import ItemIdPath
from shoprec.store.shopper_keys import issue_versions

router = APIRouter(include_in_schema=False)
LangQuery = Annotated[str | None, Query(max_length=20, description="page language (en, zh)")]


#: Catalogue columns that may hold a product picture's address (generic format, McAuley's files).
IMAGE_COLUMNS = ("image_url", "image", "imUrl")


def image_url(attributes: dict) -> str | None:
    """The item's picture address when it has an http(s) one (the page shows it when it loads,
    its placeholder otherwise)."""
    for column in IMAGE_COLUMNS:
        value = attributes.get(column)
        if isinstance(value, str) and value.startswith(("https://", "http://")):
            return value
    return None


def sample_shoppers(ctx: ServiceContext) -> list[tuple[str, str]]:
    """The demo's "shop as" list: (id, token) of the bundle's first `demo_shoppers` shoppers;
    empty unless the operator turned the demo on (the page must not list real shoppers)."""
    ids = [str(i) for i in ctx.serving.bundle.dataset.user_map.ids[: ctx.settings.demo_shoppers]]
    if not ids:
        return []
    versions = issue_versions(ctx.store.engine, ids)  # made on the first page, read after
    return [(i, ctx.settings.shopper_token(i, versions[i])) for i in ids]


def serving_model(ctx: ServiceContext) -> dict:
    """What the page's footer says serves: the model and its generation, and whether a job is
    choosing the next one (the demo serves item-kNN while `auto` runs in the background)."""
    serving = ctx.serving
    job = last_job(ctx.bundle_dir)
    return {"model": str(serving.bundle.manifest.get("model")), "generation": serving.generation,
            "choosing": job is not None and job.get("kind") == "choose"
            and job["state"] in ("queued", "running")}


def render(request: Request, ctx: ServiceContext, lang_query: str | None, name: str,
           context: dict) -> HTMLResponse:
    """`name` rendered in the page's language, with shop.js's messages in that language; a
    `?lang=` choice is remembered in a cookie so the shop's own links keep it."""
    lang = page_language(lang_query, request.cookies.get(COOKIE), ctx.settings.lang,
                         request.headers.get("accept-language"),
                         catalogue_language_of(ctx.serving.bundle.dataset.items))
    response = templates_for(lang).TemplateResponse(request, name, {
        **context, "lang": lang, "languages": LANGUAGES, "js_messages": script_messages(lang),
        "serving": serving_model(ctx)})
    if supported(lang_query):
        response.set_cookie(COOKIE, lang, max_age=365 * 86400, samesite="lax")
    response.headers["content-language"] = lang
    response.headers["vary"] = "Accept-Language, Cookie"
    return response


@router.get("/", response_class=HTMLResponse, response_model=None)
def home(request: Request, ctx: Service, lang: LangQuery = None) -> HTMLResponse:
    return render(request, ctx, lang, "home.html", {
        "shoppers": sample_shoppers(ctx), "categories": ctx.catalogue.categories()[:30]})


@router.get("/shop/items/{item_id}", response_class=HTMLResponse, response_model=None)
def item_page(request: Request, ctx: Service, item_id: ItemIdPath, lang: LangQuery = None
              ) -> HTMLResponse:
    record = ctx.catalogue.get(item_id)
    if record is None:
        raise HTTPException(404, f"unknown item_id {item_id!r}")
    similar = ranked_out(ctx.catalogue, similar_items(ctx.serving, item_id, 8))
    return render(request, ctx, lang, "item.html", {
        "item": record, "similar": similar, "shoppers": sample_shoppers(ctx),
        "image": image_url(record.attributes)})
