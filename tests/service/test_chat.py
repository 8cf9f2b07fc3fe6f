"""`POST /chat` over HTTP on the Chinese shop, and `shoprec chat` giving the same answers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shoprec.cli import app
from shoprec.store.experiment_tables import experiment_exposures
from tests.service.conftest import API_KEY, LiveServer, eventually, serving_copy, token_of

KEY = {"X-API-Key": API_KEY}


@pytest.fixture(scope="module")
def live(chinese_bundle: Path, tmp_path_factory, server_mode: str) -> Iterator[LiveServer]:
    with serving_copy(chinese_bundle, tmp_path_factory.mktemp("chat"), server_mode) as server:
        yield server


def turn(live: LiveServer, message: str, conversation: str | None = None, **extra) -> dict:
    headers = extra.pop("headers", {})
    body = {"message": message, "conversation_id": conversation, **extra}
    r = live.client.post("/chat", json=body, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_a_conversation_keeps_its_constraints_across_turns(live: LiveServer) -> None:
    first = turn(live, "我想买个无线鼠标")
    assert first["language"] == "zh" and len(first["conversation_id"]) == 32
    assert first["items"] and all("鼠标" in i["category"] for i in first["items"])
    assert all(i["meets"] == ["属于鼠标"] and i["why"] for i in first["items"])
    second = turn(live, "不要雷柏的", first["conversation_id"])
    assert second["conversation_id"] == first["conversation_id"]
    assert "不是雷柏" in second["constraints"]
    assert second["items"] and all("雷柏" not in i["title"] and "鼠标" in i["category"]
                                   for i in second["items"])
    broad = turn(live, "I want to buy something")
    assert broad["question"].startswith("What kind of product") and broad["language"] == "en"


def test_what_could_not_be_honoured_comes_as_data(live: LiveServer) -> None:
    """A price limit in a shop without prices, then a brand that empties the list: each named
    in `unmet` with the words that drop it (the page shows them as buttons), and in `notes`."""
    limit = turn(live, "鼠标 100元以内")
    assert limit["unmet"] == [{"constraint": "price", "value": "100元以内", "reason": "no_prices",
                               "text": "本店商品没有标价，无法按价格筛选。", "drop": "不限价格"}]
    assert limit["notes"] == [limit["unmet"][0]["text"]] and limit["items"]
    kingston = turn(live, "只要Kingston的", limit["conversation_id"])
    assert kingston["items"] == []
    emptied = {u["constraint"]: u for u in kingston["unmet"] if u["reason"] == "emptied"}
    assert emptied["brand"]["drop"] == "不限品牌" and emptied["brand"]["value"] == "Kingston"
    dropped = turn(live, "不限品牌", limit["conversation_id"])
    assert dropped["items"] and all("鼠标" in i["category"] for i in dropped["items"])


def test_the_cli_answers_as_the_api_does(live: LiveServer, chinese_bundle: Path) -> None:
    messages = ["我想买个无线鼠标", "不要雷柏的", "像第二个那样的"]
    conversation, api = None, []
    for m in messages:
        answer = turn(live, m, conversation)
        conversation = answer["conversation_id"]
        api.append([(i["item_id"], i["meets"], i["why"]) for i in answer["items"]])
    args = ["chat", str(live.ctx.bundle_dir), "--json"]
    for m in messages:
        args += ["-m", m]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    cli = [[(i["item_id"], i["meets"], i["why"]) for i in json.loads(line)["items"]]
           for line in result.output.splitlines()]
    assert cli == api


def test_a_shoppers_conversation_is_theirs_and_goes_with_them(live: LiveServer) -> None:
    user = "chat-shopper-1"
    assert live.client.post("/chat", json={"message": "鼠标", "user_id": user}).status_code == 401
    first = turn(live, "鼠标", user_id=user, headers=token_of(live, user))
    cid = first["conversation_id"]
    other = "chat-shopper-2"
    r = live.client.post("/chat", json={"message": "更便宜的", "conversation_id": cid,
                                         "user_id": other}, headers=token_of(live, other))
    assert r.status_code == 404  # someone else's conversation looks like no conversation
    r = live.client.post("/chat", json={"message": "更便宜的", "conversation_id": cid})
    assert r.status_code == 404
    assert live.client.delete(f"/users/{user}", headers=KEY).status_code == 200
    r = live.client.post("/chat", json={"message": "更便宜的", "conversation_id": cid,
                                         "user_id": user}, headers=token_of(live, user))
    assert r.status_code == 404  # deleted with the shopper


@pytest.mark.parametrize("body", [
    {"message": ""}, {"message": "   "}, {"message": "x" * 501},
    {"message": "鼠标", "conversation_id": "../../etc"}, {"message": "鼠标", "k": 0},
    {"message": "鼠标", "lang": "fr"}, {"message": "鼠标", "extra": 1},
])
def test_bad_requests_get_one_clear_error(live: LiveServer, body: dict) -> None:
    r = live.client.post("/chat", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]


def test_an_unknown_conversation_is_404(live: LiveServer) -> None:
    r = live.client.post("/chat", json={"message": "鼠标", "conversation_id": "0" * 32})
    assert r.status_code == 404 and "unknown conversation_id" in r.json()["error"]


def test_each_answer_is_an_exposure_on_the_chat_surface(live: LiveServer) -> None:
    """A chat answer carries a request id; its list is logged on the `chat` surface, so a purchase
    naming that id and a position is attributed to the answer."""
    user = "chat-shopper-3"
    answer = turn(live, "我想买个无线鼠标", user_id=user, headers=token_of(live, user))
    assert answer["request_id"] and answer["variant"] is None  # no experiment runs
    live.ctx.exposures.flush()  # in process; a worker writes its own within exposure_flush_s
    shown = eventually(lambda: [e for e in experiment_exposures(live.ctx.store.engine, None)
                                if e.request_id == answer["request_id"]], "the chat's exposure")
    assert [(e.surface, e.user_id) for e in shown] == [("chat", user)]
    assert json.loads(shown[0].items) == [i["item_id"] for i in answer["items"]]
    bought = answer["items"][0]["item_id"]
    r = live.client.post("/events", json={"user_id": user, "item_id": bought, "event": "purchase",
                                          "request_id": answer["request_id"], "position": 1},
                         headers=KEY)
    assert r.status_code == 200 and r.json()["attributed"] == 1
