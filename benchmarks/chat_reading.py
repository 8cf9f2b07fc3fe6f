"""How well the chat reads requests it did not write: each chat reader against plain search.

Requests come from real text with relevance from the catalogues' own labels
(`benchmarks/chat_requests.py` says how each set is written). Each request is one first turn
through `shoprec.engine.chat.chat_turn` with each reader of `shoprec.engine.reading.READERS`
("rules": the shop's word lists; "encoder": the default, brands on evidence and categories from
the encoder's calibrated belief; a reader registered later, e.g. "generative", joins with
`--readers`), and the same words through the bundle's search (what `GET /search` runs).

* success@5: a relevant item among the first five (the item a request was written from does not
  count and is left out of the list, except on beauty_titles where it is the only label);
* constraint precision / recall, per kind: a category or brand read is right when it keeps an
  item the request is about (`Request.keeps`), a price when it is the limit the request states;
  precision = right / read, recall = right / requests that state one (brand: the sentence names
  the item's brand; category: every request of a shop with categories, except
  zh_reviews_elsewhere; price: the requests that end with a limit);
* wrong-constraint rate: requests with at least one wrong category, brand or price read;
* latency: one turn in process, on this machine; `--http` adds p95 of POST /chat through
  `shoprec serve --workers 1` on the default reader (benchmarks/chat.py's `http_latency`).

Bundles: item-kNN on each catalogue with the defaults (the encoder is chosen from the
catalogue's script). The reader's category threshold is calibrated by the engine on the other
half of the items, never on these requests; the calibration it chose is written beside.

    python benchmarks/chat_reading.py --http    # writes benchmarks/results/chat_reading.json
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, write_result
from chat import bundle_for, http_latency
from chat_requests import (
    Request,
    office_descriptions,
    titles,
    zh_reviews,
)

from shoprec.data.sources import data_dir
from shoprec.engine.catalogue import Catalogue
from shoprec.engine.chat import Conversation, chat_turn
from shoprec.engine.reading import READERS
from shoprec.engine.serving import Serving
from shoprec.engine.title_words import name_words
from shoprec.engine.understanding import understanding_for

HERE = Path(__file__).parent
K = 5
KINDS = ("category", "brand", "price")


def judge(catalogue: Catalogue, request: Request, category: str | None, brand: str | None,
          low: float | None, high: float | None) -> dict[str, str | None]:
    """Per kind: None (nothing read), "right" or "wrong"."""
    out: dict[str, str | None] = {}
    out["category"] = None if category is None else (
        "right" if catalogue.in_category(category) & request.keeps else "wrong")
    out["brand"] = None if brand is None else (
        "right" if catalogue.of_brand(brand) & request.keeps or _names_source(
            catalogue, request.source, brand) else "wrong")
    read = (low, high) if low is not None or high is not None else None
    out["price"] = None if read is None else ("right" if read == request.price else "wrong")
    return out


def _names_source(catalogue: Catalogue, source: str | None, brand: str) -> bool:
    """The brand read is the source item's, written another way in its record: its brand field
    says more ("Zebra" for "Zebra Pen", "Scotch" for "Scotch&reg;") or its title starts with it
    (Post-it notes by 3M)."""
    record = catalogue.get(source) if source else None
    if record is None:
        return False
    words = name_words(brand)
    field = name_words(record.brand or "")
    title = name_words(record.title or "")
    return bool(words) and (set(words) <= set(field) or title[:len(words)] == words)


def top(ids: list[str], request: Request) -> list[str]:
    keep_source = request.source is not None and request.relevant == {request.source}
    return [i for i in ids if keep_source or i != request.source][:K]


def run_set(serving: Serving, catalogue: Catalogue, requests: list[Request], language: str,
            readers: list[str]) -> dict:
    rows: dict[str, list[dict]] = {r: [] for r in [*readers, "search"]}
    for request in requests:
        for reader in readers:
            start = time.perf_counter()
            answer = chat_turn(serving, catalogue, Conversation.new(None, language),
                               request.text, k=K + 1, reader=reader)
            ms = (time.perf_counter() - start) * 1000
            c = answer.conversation
            rows[reader].append({"ms": ms, "items": top([i.item_id for i in answer.items], request),
                                 **judge(catalogue, request, c.category, c.brand, c.min_price,
                                         c.max_price)})
        start = time.perf_counter()
        found = serving.searcher.search(request.text, K + 1, serving.item_ids, serving.item_index,
                                        catalogue)
        ms = (time.perf_counter() - start) * 1000
        rows["search"].append({"ms": ms, "items": top([r.item_id for r in found], request),
                               "category": None, "brand": None, "price": None})
    return {name: summary(requests, r) for name, r in rows.items()}


def summary(requests: list[Request], rows: list[dict]) -> dict:
    scored = [(q, r) for q, r in zip(requests, rows) if q.relevant]
    success = [bool(set(r["items"]) & q.relevant) for q, r in scored]
    stated = {"category": lambda q: q.category_said and bool(q.keeps), "brand": lambda q: q.brand_said,
              "price": lambda q: q.price is not None}
    constraints = {}
    for kind in KINDS:
        read = [r[kind] for r in rows if r[kind] is not None]
        right = sum(1 for v in read if v == "right")
        said = [r[kind] for q, r in zip(requests, rows) if stated[kind](q)]
        constraints[kind] = {
            "read": len(read), "right": right,
            "precision": round(right / len(read), 4) if read else None,
            "stated": len(said),
            "recall": round(sum(v == "right" for v in said) / len(said), 4) if said else None}
    ms = np.array([r["ms"] for r in rows])
    return {
        "requests": len(rows), "scored": len(scored),
        "success_at_5": round(float(np.mean(success)), 4) if success else None,
        "wrong_constraint_rate": round(float(np.mean([any(r[k] == "wrong" for k in KINDS)
                                                      for r in rows])), 4),
        "constraints": constraints,
        "latency_ms": {"p50": round(float(np.percentile(ms, 50)), 2),
                       "p95": round(float(np.percentile(ms, 95)), 2)}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=HERE / "results" / "chat_reading.json")
    parser.add_argument("--readers", default=",".join(READERS))
    parser.add_argument("--http", action="store_true", help="also POST /chat p95 per shop")
    parser.add_argument("--dev", action="store_true", help="requests from the reader's "
                        "calibration half (design choices only; writes chat_reading_dev.json)")
    args = parser.parse_args()
    if args.dev and args.out == parser.get_default("out"):
        args.out = args.out.with_name("chat_reading_dev.json")
    readers = args.readers.split(",")
    load_before = os.getloadavg()
    results: dict = {"command": "python benchmarks/chat_reading.py" + (" --http" * args.http)
                     + (" --dev" * args.dev), "half": "calibration (dev)" if args.dev else
                     "evaluation",
                     "k": K, "readers": readers, "shops": {}}
    plan = {"amazon-office": "en", "amazon-beauty": "en", "amazon-cn": "zh"}
    with tempfile.TemporaryDirectory() as tmp:
        for source, language in plan.items():
            serving = Serving.load(bundle_for(source, Path(tmp)))
            catalogue = Catalogue.from_frame(serving.bundle.dataset.items)
            serving.searcher.warm_up()
            for reader in readers:  # builds each reader's understanding (and calibration) once
                understanding_for(serving, catalogue, reader)
            meaning = understanding_for(serving, catalogue, "encoder").meaning
            if source == "amazon-office":
                sets = {"office_descriptions": office_descriptions(catalogue, dev=args.dev),
                        "office_titles": titles(catalogue, known_item=False, dev=args.dev)}
            elif source == "amazon-beauty":
                sets = {"beauty_titles": titles(catalogue, known_item=True, dev=args.dev)}
            else:
                mapped, elsewhere = zh_reviews(
                    catalogue, data_dir() / "chinese_online_shopping_10_cats", dev=args.dev)
                sets = {"zh_reviews": mapped, "zh_reviews_elsewhere": elsewhere}
            shop: dict = {"language": language, "items": len(catalogue),
                          "encoder": serving.bundle.manifest["encoder"]["name"],
                          "calibration": meaning.report if meaning else None, "sets": {}}
            for name, requests in sets.items():
                shop["sets"][name] = run_set(serving, catalogue, requests, language, readers)
                shop["sets"][name]["examples"] = [q.text for q in requests[:3]]
            if args.http:
                doc = {"dialogues": [{"turns": [{"say": q.text}]} for requests in sets.values()
                                     for q in requests[:100]]}
                shop["http_latency_ms"] = http_latency(bundle_for(source, Path(tmp)), doc)
            results["shops"][source] = shop
    results["machine"] = machine(load_before)
    write_result(args.out, results)
    print_table(results)
    print(f"written {args.out}")


def print_table(results: dict) -> None:
    print(f"{'set':22} {'reader':9} {'n':>4} {'s@5':>6} {'wrong':>6} "
          + " ".join(f"{k[:5] + ' P/R':>13}" for k in KINDS) + f" {'p95 ms':>7}")
    for shop in results["shops"].values():
        for name, rows in shop["sets"].items():
            for reader, r in rows.items():
                if reader == "examples":
                    continue
                pr = " ".join(f"{_f(r['constraints'][k]['precision'])}/"
                              f"{_f(r['constraints'][k]['recall'])}".rjust(13) for k in KINDS)
                print(f"{name:22} {reader:9} {r['requests']:>4} {_f(r['success_at_5']):>6} "
                      f"{r['wrong_constraint_rate']:>6.3f} {pr} {r['latency_ms']['p95']:>7.1f}")
        if "http_latency_ms" in shop:
            print(f"   HTTP POST /chat (default reader): {shop['http_latency_ms']}")


def _f(x: float | None) -> str:
    return "  -  " if x is None else f"{x:.3f}"


if __name__ == "__main__":
    main()
