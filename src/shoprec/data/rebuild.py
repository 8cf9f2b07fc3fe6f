"""The derived files of the development sets, rebuilt from their verified originals.

Files under `derived/` are published nowhere: each builder below joins the originals as
shared/data/README.md describes, and `fetch` checks the result against the recorded size and
SHA-256 before it keeps it. A builder returns each file's content by its path in the set's folder.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from pathlib import Path

from shoprec.data.errors import DataError


def build_beauty(folder: Path) -> dict[str, bytes]:
    """Content of Beauty's derived files by the README's joins (section 1; no new information).

    Items: ids of Beauty.txt in id order, ASIN from datamaps.json, title from products_lookup.csv
    via item_id_to_int.json. Interactions: Beauty.txt in file order, reviewerID from datamaps.json,
    timestamps from Beauty_time_org_rank.txt by position.
    """
    maps = json.loads((folder / "datamaps.json").read_text(encoding="utf-8"))
    to_int = json.loads((folder / "item_id_to_int.json").read_text(encoding="utf-8"))
    with open(folder / "products_lookup.csv", newline="", encoding="utf-8") as f:
        rows = csv.reader(f)
        next(rows)
        names = {row[1]: row[2] for row in rows}
    asin = maps["id2item"]
    items = ["item_id\tasin\ttitle\n"]
    items += [f"{i}\t{asin[i]}\t{names[str(to_int[asin[i]])]}\n" for i in sorted(asin, key=int)]
    inter = ["user_id\treviewerID\titem_id\tasin\ttimestamp\n"]
    with open(folder / "Beauty.txt") as seqs, open(folder / "Beauty_time_org_rank.txt") as times:
        for seq, stamps in zip(seqs, times, strict=True):
            (user, *ids), (user_t, *ts) = seq.split(), stamps.split()
            if user != user_t or len(ids) != len(ts):
                raise DataError(f"Beauty.txt and Beauty_time_org_rank.txt disagree at user {user}")
            reviewer = maps["id2user"][user]
            inter += [f"{user}\t{reviewer}\t{i}\t{asin[i]}\t{t}\n" for i, t in zip(ids, ts)]
    return {"derived/beauty_items.tsv": "".join(items).encode(),
            "derived/beauty_interactions.tsv.gz": "".join(inter).encode()}


def _csv(rows: Iterable[list[str]]) -> bytes:
    """Rows as Python's `csv.writer` writes them (minimal quoting, CRLF line ends), which is how
    the shared generic-format `derived/*.csv` files are laid out, byte for byte."""
    buf = io.StringIO(newline="")
    csv.writer(buf).writerows(rows)
    return buf.getvalue().encode("utf-8")


def _tsv_rows(path: Path, header: str, fields: int) -> list[list[str]]:
    """The rows of a RecBole atomic file (`name:type` header, tab-separated, LF line ends) split
    into `fields` fields, after checking the header; bytes are kept as they are (no stripping)."""
    lines = path.read_bytes().decode("utf-8").split("\n")
    if lines[0] != header or lines[-1] != "":
        raise DataError(f"{path.name}: expected the header {header!r} and a final line end")
    rows = [line.split("\t", fields - 1) for line in lines[1:-1]]
    bad = next((n for n, row in enumerate(rows, 2) if len(row) != fields), None)
    if bad is not None:
        raise DataError(f"{path.name}: line {bad} does not have {fields} tab-separated fields")
    return rows


def build_games(folder: Path) -> dict[str, bytes]:
    """Content of Games' generic-format files (README, development sets): items are
    Games-6k.item's rows in file order; interactions are, per Games-6k.test.inter row in file
    order, the user's `item_id_list` followed by the held-out `item_id` (the whole chronological
    sequence)."""
    items = _tsv_rows(folder / "Games-6k.item", "item_id:token\ttitle:token_seq", 2)
    inter = [["user_id", "item_id"]]
    for user, history, last in _tsv_rows(
            folder / "Games-6k.test.inter",
            "user_id:token\titem_id_list:token_seq\titem_id:token", 3):
        inter += [[user, item] for item in [*history.split(), last]]
    return {"derived/interactions.csv": _csv(inter),
            "derived/items.csv": _csv([["item_id", "title"], *items])}


def build_office(folder: Path) -> dict[str, bytes]:
    """Content of Office's generic-format files (README, development sets): items are
    Office.item.json's entries in file order with title, brand, categories (as `category`) and
    description; interactions are Office.inter.json's users in file order, each one's items in
    their (chronological) list order."""
    items = json.loads((folder / "Office.item.json").read_text(encoding="utf-8"))
    users = json.loads((folder / "Office.inter.json").read_text(encoding="utf-8"))
    rows = [["item_id", "title", "brand", "category", "description"]]
    try:
        rows += [[key, v["title"], v["brand"], v["categories"], v["description"]]
                 for key, v in items.items()]
    except (KeyError, TypeError) as exc:
        raise DataError(f"Office.item.json: an item lacks a field the README names ({exc})") from exc
    inter = [["user_id", "item_id"]]
    for user, seq in users.items():
        inter += [[user, str(item)] for item in seq]
    return {"derived/interactions.csv": _csv(inter), "derived/items.csv": _csv(rows)}


def build_amazon_cn(folder: Path) -> dict[str, bytes]:
    """Content of the Amazon.cn sample's generic-format files (README, amazon_cn_sample): items
    are products.csv's `^`-separated rows in file order as item_id, title, category (the `a|b|c`
    path written `a > b > c`), image_url, asin; interactions are ratings.csv's rows in file order
    as user_id, item_id, timestamp, event `rating`, value (the star rating)."""
    lines = (folder / "products.csv").read_bytes().decode("utf-8").split("\n")
    if lines[-1] != "":
        raise DataError("products.csv: expected a final line end")
    items = [["item_id", "title", "category", "image_url", "asin"]]
    for n, line in enumerate(lines[:-1], 1):
        fields = line.split("^")
        if len(fields) != 7:
            raise DataError(f"products.csv: line {n} does not have 7 `^`-separated fields")
        pid, title, _cats, asin, image, path, _tags = fields
        items.append([pid, title, " > ".join(path.split("|")), image, asin])
    with open(folder / "ratings.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    bad = next((n for n, row in enumerate(rows, 1) if len(row) != 4), None)
    if bad is not None:
        raise DataError(f"ratings.csv: line {bad} does not have 4 comma-separated fields")
    inter = [["user_id", "item_id", "timestamp", "event", "value"]]
    inter += [[user, item, stamp, "rating", value] for user, item, value, stamp in rows]
    return {"derived/interactions.csv": _csv(inter), "derived/items.csv": _csv(items)}
