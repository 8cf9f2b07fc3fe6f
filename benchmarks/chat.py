"""Chat against plain search on the scripted multi-turn dialogues (`benchmarks/dialogues/`).

Each dialogue is played turn by turn through `shoprec.engine.chat.chat_turn` (what `POST /chat`
and `shoprec chat` run) and, as the baseline, each turn's words alone through the same bundle's
search (what `GET /search` runs). A turn succeeds when at least one of the first five items
satisfies everything the shopper has asked for so far (the dialogue file says what that is); a
"broad" turn succeeds when the answer asks a clarifying question. Violations: answered items that
break one of the turn's constraints, over all answered items. Wrong constraints: turns after
which the conversation holds a category none of whose items is in the turn's category, or a
brand other than the one asked for (what the reader got wrong, as against what it missed; a
missed category shows as violations instead). Each chat reader of `shoprec.engine.reading`
plays every dialogue (`--readers`, default rules and encoder). Latency: wall time of one turn in
process, on this machine. Bundles: item-kNN trained on each catalogue with the defaults (the
encoder is chosen from the catalogue's script: MiniLM for Office, multilingual USE for the
Chinese shop).

    python benchmarks/chat.py            # writes benchmarks/results/chat.json, prints a table

The HTTP figure (`http_latency_ms`) plays the same dialogues through `POST /chat` of a
`shoprec serve --workers 1` process started on the bundle (a new store, seeded), one client,
so it adds the store round trip (the conversation read and written) and the HTTP stack.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
from _common import machine, write_result

from shoprec.bundle import write_bundle
from shoprec.data.sources import load_dataset
from shoprec.data.splits import full_train
from shoprec.engine.catalogue import Catalogue, category_keys
from shoprec.engine.chat import Conversation, chat_turn
from shoprec.engine.reading import DEFAULT_READER
from shoprec.engine.serving import Serving
from shoprec.models.itemknn import ItemKNN

HERE = Path(__file__).parent
SETS = {"office_en": "amazon-office", "amazon_cn_zh": "amazon-cn",
        "office_en_words": "amazon-office", "amazon_cn_zh_words": "amazon-cn"}
K = 5


def brand_of(title: str | None, brand: str | None) -> str | None:
    """The dialogue writer's rule (benchmarks/chat_dialogues.py), item by item: the brand
    column, else a title's leading Latin word (what the shop's brand filter reads for an item
    without a brand, `shoprec.engine.title_words`)."""
    if brand:
        return brand
    head = (title or "").split()[:1]
    return head[0] if head and re.fullmatch(r"[A-Za-z][A-Za-z0-9\-]{1,15}", head[0]) else None


def satisfies(catalogue: Catalogue, item_id: str, turn: dict) -> bool:
    r = catalogue.get(item_id)
    if r is None:
        return False
    if turn.get("category") and turn["category"].lower() not in category_keys(r.category):
        return False
    if turn.get("brand") and (brand_of(r.title, r.brand) or "").lower() != turn["brand"].lower():
        return False
    text = f"{r.brand or ''} {r.title or ''}".lower()
    return not any(word.lower() in text for word in turn.get("not", []))


def score_turn(catalogue: Catalogue, turn: dict, items: list[str], asked: bool,
               shown_before: list[str]) -> dict:
    """Success and violations of one answer; for a `like` turn the item pointed at (in this
    system's previous answer) is no right answer, and where nothing else meets the constraints
    the right answer is an empty one."""
    if turn["kind"] == "broad":
        return {"kind": "broad", "success": asked, "answered": 0, "violations": 0}
    pointed = None
    if turn["kind"] == "like" and turn["point"] < len(shown_before):
        pointed = shown_before[turn["point"]]
    ok = [satisfies(catalogue, i, turn) for i in items[:K]]
    success = any(o and i != pointed for i, o in zip(items, ok))
    if pointed is not None and not any(satisfies(catalogue, i, turn) for i in catalogue.ids()
                                       if i != pointed):
        success = not items
    return {"kind": turn["kind"], "success": success, "answered": len(ok),
            "violations": len(ok) - sum(ok)}


def wrong_constraint(catalogue: Catalogue, turn: dict, conv: Conversation) -> bool:
    """The conversation holds a category or brand the turn's shopper did not mean."""
    if turn["kind"] == "broad":
        return False
    if conv.category and turn.get("category") and not (
            catalogue.in_category(conv.category) & catalogue.in_category(turn["category"])):
        return True
    return bool(conv.brand) and (conv.brand.lower() != (turn.get("brand") or "").lower())


def play(serving: Serving, catalogue: Catalogue, doc: dict, reader: str = DEFAULT_READER,
         search: bool = True) -> tuple[list[dict], list[dict]]:
    """(chat turn scores, search turn scores), each with its latency in ms."""
    chat_rows, search_rows = [], []
    for dialogue in doc["dialogues"]:
        conv = Conversation.new(None, doc["language"])
        searched: list[str] = []
        for turn in dialogue["turns"]:
            start = time.perf_counter()
            answer = chat_turn(serving, catalogue, conv, turn["say"], k=K, reader=reader)
            ms = (time.perf_counter() - start) * 1000
            shown = [i.item_id for i in answer.items]
            chat_rows.append({**score_turn(catalogue, turn, shown, answer.question is not None,
                                           conv.shown), "ms": ms,
                              "wrong": wrong_constraint(catalogue, turn, answer.conversation)})
            conv = answer.conversation
            if not search:
                continue
            start = time.perf_counter()
            found = serving.searcher.search(turn["say"], K, serving.item_ids, serving.item_index,
                                            catalogue)
            ms = (time.perf_counter() - start) * 1000
            results = [r.item_id for r in found]
            search_rows.append({**score_turn(catalogue, turn, results, False, searched), "ms": ms})
            searched = results
    return chat_rows, search_rows


def summary(rows: list[dict]) -> dict:
    answered = sum(r["answered"] for r in rows)
    kinds = sorted({r["kind"] for r in rows})
    ms = np.array([r["ms"] for r in rows])
    return {
        "success_at_5": round(float(np.mean([r["success"] for r in rows])), 4),
        "success_at_5_by_kind": {k: round(float(np.mean([r["success"] for r in rows
                                                         if r["kind"] == k])), 4) for k in kinds},
        "turns_by_kind": {k: sum(r["kind"] == k for r in rows) for k in kinds},
        "violation_rate": round(sum(r["violations"] for r in rows) / max(answered, 1), 4),
        "wrong_constraint_rate": round(float(np.mean([r.get("wrong", False) for r in rows])), 4),
        "answered_items": answered,
        "latency_ms": {"p50": round(float(np.percentile(ms, 50)), 2),
                       "p95": round(float(np.percentile(ms, 95)), 2),
                       "max": round(float(ms.max()), 2)},
    }


def http_latency(bundle: Path, doc: dict) -> dict:
    """p50/p95 of `POST /chat` turns against a real server process on `bundle`."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "SHOPREC_API_KEY": "bench-key"}
    server = subprocess.Popen([str(Path(sys.executable).with_name("shoprec")), "serve", str(bundle), "--port",
                               str(port), "--seed", "--workers", "1"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url, timeout=30) as client:
            deadline = time.monotonic() + 600
            while True:
                try:  # ready: the search index and the chat's reader are built
                    health = client.get("/health")
                    if health.status_code == 200 and health.json().get("search_index") != \
                            "building":
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the chat server did not start")
                time.sleep(0.2)
            ms = []
            for dialogue in doc["dialogues"]:
                conversation = None
                for turn in dialogue["turns"]:
                    start = time.perf_counter()
                    r = client.post("/chat", json={"message": turn["say"],
                                                   "conversation_id": conversation})
                    ms.append((time.perf_counter() - start) * 1000)
                    r.raise_for_status()
                    conversation = r.json()["conversation_id"]
    finally:
        server.terminate()
        server.wait(timeout=30)
    a = np.array(ms)
    return {"turns": len(ms), "p50": round(float(np.percentile(a, 50)), 2),
            "p95": round(float(np.percentile(a, 95)), 2), "max": round(float(a.max()), 2)}


def bundle_for(source: str, folder: Path) -> Path:
    """An item-kNN bundle on the named data set (trained once per run)."""
    if (folder / source / "manifest.json").is_file():
        return folder / source
    ds = load_dataset(source)
    return write_bundle(folder / source, ds, ItemKNN().fit(full_train(ds)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=HERE / "results" / "chat.json")
    parser.add_argument("--readers", default="rules,encoder")
    args = parser.parse_args()
    readers = args.readers.split(",")
    load_before = os.getloadavg()
    results: dict = {"command": "python benchmarks/chat.py", "readers": readers,
                     "default_reader": DEFAULT_READER, "k": K, "sets": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for name, source in SETS.items():
            doc = json.loads((HERE / "dialogues" / f"{name}.json").read_text())
            bundle = bundle_for(source, Path(tmp))
            serving = Serving.load(bundle)
            catalogue = Catalogue.from_frame(serving.bundle.dataset.items)
            serving.searcher.warm_up()
            chats, search = {}, None
            for reader in readers:
                chat_turn(serving, catalogue, Conversation.new(None, doc["language"]), "warm up",
                          reader=reader)
                chat_rows, search_rows = play(serving, catalogue, doc, reader, search is None)
                chats[reader] = summary(chat_rows)
                search = search or summary(search_rows)
            results["sets"][name] = {
                "language": doc["language"], "catalogue": doc["catalogue"],
                "dialogues": len(doc["dialogues"]), "turns": len(chat_rows),
                "encoder": serving.bundle.manifest["encoder"]["name"],
                "chat": chats, "search": search, "http_latency_ms": http_latency(bundle, doc),
                "success_ratio_chat_over_search": {r: round(
                    c["success_at_5"] / max(search["success_at_5"], 1e-9), 2)
                    for r, c in chats.items()}}
    results["machine"] = machine(load_before)
    write_result(args.out, results)
    print(f"{'set':18} {'reader':8} {'turns':>5} {'chat s@5':>9} {'search s@5':>10} {'ratio':>6} "
          f"{'viol':>6} {'wrong':>6} {'search viol':>11} {'chat p95 ms':>11} {'HTTP p95':>8}")
    for name, r in results["sets"].items():
        for reader, chat in r["chat"].items():
            http = r["http_latency_ms"]["p95"] if reader == DEFAULT_READER else float("nan")
            print(f"{name:18} {reader:8} {r['turns']:>5} {chat['success_at_5']:>9.3f} "
                  f"{r['search']['success_at_5']:>10.3f} "
                  f"{r['success_ratio_chat_over_search'][reader]:>6.2f} "
                  f"{chat['violation_rate']:>6.3f} {chat['wrong_constraint_rate']:>6.3f} "
                  f"{r['search']['violation_rate']:>11.3f} {chat['latency_ms']['p95']:>11.1f} "
                  f"{http:>8.1f}")
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
