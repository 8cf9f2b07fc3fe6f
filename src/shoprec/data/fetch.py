"""Download the data sets the demo and tests use from their public sources, verified and cached.

Why: a machine without the shared data folder must still run `make demo` and `make test`, and
must never run them on bytes other than the ones our published numbers were measured on. Every
original file is a byte-for-byte copy of a file in a public GitHub repository at a pinned commit
(shared/data/README.md names each), so it is fetched from raw.githubusercontent.com and checked
against the size and SHA-256 recorded below (computed from the shared copies). Files under
`derived/` are published nowhere: they are rebuilt from the verified originals by the README's
joins and checked the same way. A download goes to a temporary file beside its target and is
renamed into place only once verified, so a refused file never reaches the cache.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import hashlib
import io
import json
import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from shoprec.data.errors import DataError

if TYPE_CHECKING:  # httpx is imported only when something is downloaded (keeps imports light)
    import httpx

#: Base URL laid out as `/{repo}/{commit}/{path}`; SHOPREC_DATA_MIRROR or `mirror=` replaces it.
DEFAULT_MIRROR = "https://raw.githubusercontent.com"


@dataclass(frozen=True)
class Remote:
    """A file copied byte for byte from `repo` at `commit`, saved as `name` in the set's folder."""

    name: str
    repo: str
    commit: str
    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Derived:
    """A file rebuilt from the originals. For `.gz` files size and hash are of the decompressed
    content: the shared copy was written by GNU `gzip -9n`, whose deflate stream Python's zlib
    does not reproduce byte for byte, so we check what the readers see, not the container."""

    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Spec:
    """One data set: its top folder under the data folder (where the originals lie; `sources.NAMED`
    may name a subfolder of it, such as `amazon_games_2018/derived`), its original files and how
    to rebuild its derived ones (named by their path inside `folder`, e.g. `derived/items.csv`)."""

    folder: str
    remote: tuple[Remote, ...]
    derived: tuple[Derived, ...] = ()
    build: Callable[[Path], dict[str, bytes]] | None = None


@dataclass(frozen=True)
class FileStatus:
    """One row of `shoprec fetch-data`: ok (in SHOPREC_DATA_DIR), cached, fetched or built; size
    in bytes on disk."""

    name: str
    size: int
    status: str


def _build_beauty(folder: Path) -> dict[str, bytes]:
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


def _build_games(folder: Path) -> dict[str, bytes]:
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


def _build_office(folder: Path) -> dict[str, bytes]:
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


def _build_amazon_cn(folder: Path) -> dict[str, bytes]:
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


_S3REC = ("aHuiWang/CIKM2020-S3Rec", "49a890dcb516c9ed3126564495234ea74d5cd566")
_P5 = ("Wenyueh/LLM-RecSys-ID", "2200ad9fef647ef755c01d6d7e5c5de3082606c5")
_LLMSEQ = ("dh-r/LLM-Sequential-Recommendation", "6464b39064f369b251580c63edbf635de0934101")
_TICO = ("KingGugu/TiCoSeRec", "302b2959f27bb16bb77acae5a471de82819bd1bd")
_ML = ("wangby511/Recommendation_System", "dff8940dfe21b9104906eaddfdd1f11497b60ce4")
_CN = ("SophonPlus/ChineseNlpCorpus", "a0b781d72158bde242c0626c9e354d2b328865ff")
_LLMRANK = ("RUCAIBox/LLMRank", "5ec1154cb74cbf68ed5721212f1d7e79336c39c7")
_APAO = ("yuyq18/APAO", "aa08fcfab4ad306a536a1fde648042972a292bbe")
_AMAZON_CN = ("ittqqzz/ECommerceRecommendSystem", "6099381dee8c64b43b76471e563dc92c225842ba")
_AMAZON_CN_DIR = "backend/recommender/DataLoader/src/main/resources"

#: Every data set the demo and the tests read, with only the files the code reads or rebuilds from.
DATASETS: dict[str, Spec] = {
    "amazon-beauty": Spec("amazon_beauty_2014_5core", (
        Remote("Beauty.txt", *_S3REC, "data/Beauty.txt", 1090094,
               "226cce9c3105299ca0db9615d7d3fb32b3175e90da43100ae352599f0f0107b8"),
        Remote("Beauty_time_org_rank.txt", *_TICO, "data/Beauty/Beauty_time_org_rank.txt", 2306594,
               "4e6a6e30f9dba1985ad9adae79a891df6b403e2132f0422a6f6e88f67d1fcc75"),
        Remote("datamaps.json", *_P5, "data/beauty/datamaps.json", 1835529,
               "715ab04838ff1ba21238475ed453a89e8c30aa6214b904d27a79e4168fc7b612"),
        Remote("products_lookup.csv", *_LLMSEQ, "beauty/products_lookup.csv", 961053,
               "65133eca0615999df67fc5b26a93a7da762e53e613a083fd6b9e37174896d128"),
        Remote("item_id_to_int.json", *_LLMSEQ, "beauty/item_id_to_int.json", 243011,
               "3d1a1d362c7daeddf616057fae8fa24af9d70902fdaf4631852231a9953afa50"),
    ), (
        Derived("derived/beauty_items.tsv", 1021047,
                "bfc5bdb518d53d3615e20741ff09d7c02e784f556874b1caa4a0d5b651388d57"),
        Derived("derived/beauty_interactions.tsv.gz", 9337875,
                "f181f0a9deddd5159c3de15e3914fbfdb9c43050692b0eec6d1e3b5c432282d9"),
    ), _build_beauty),
    "movielens-100k": Spec("movielens_100k", (
        Remote("README", *_ML, "Data/MovieLens/ml-100k/README", 6750,  # the terms of use
               "4883b8cf340ed0059971b33f56ad3adc88a40792108ebca3d24aafc4c82e8b52"),
        Remote("u.data", *_ML, "Data/MovieLens/ml-100k/u.data", 1979173,
               "06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490"),
        Remote("u.item", *_ML, "Data/MovieLens/ml-100k/u.item", 236344,
               "553841ebc7de3a0fd0d6b62a204ea30c1e651aacfb2814c7a6584ac52f2c5701"),
    )),
    "amazon-games": Spec("amazon_games_2018", (  # the data set is its derived/ folder
        Remote("Games-6k.item", *_LLMRANK, "llmrank/dataset/Games-6k/Games-6k.item", 837183,
               "be9cea58a8de4f940a20b0ad6b58bad46b22fd6f9dbc82d1a1902e1c62e96ade"),
        Remote("Games-6k.test.inter", *_LLMRANK, "llmrank/dataset/Games-6k/Games-6k.test.inter",
               2501199, "b241e4c8a52d2d41530fd073296e8bced4b61753e86ed6c51467c657704bab19"),
    ), (
        Derived("derived/interactions.csv", 5151690,
                "8e2c1e0aad517b14cfb49e3f5e6875d8b89827ec38cd30c06c7994f14dd2e237"),
        Derived("derived/items.csv", 855560,
                "247fd083120f4866dc41dd7ea9a2f03f3ff90fc854f0e4f8afd4ddf2fe59db0c"),
    ), _build_games),
    "amazon-office": Spec("amazon_office_2014", (  # the data set is its derived/ folder
        Remote("Office.item.json", *_APAO, "data/Office/Office.item.json", 2417410,
               "df013666416847d0f3468f08d9f68877faf251f71b51247050e98da5b705b5c7"),
        Remote("Office.inter.json", *_APAO, "data/Office/Office.inter.json", 799708,
               "10f983c76de3d2443ae68bf50bc6231962ab493f4d08c7e716e2f183ae70d698"),
    ), (
        Derived("derived/interactions.csv", 531290,
                "25f69fd7fc15f655af171dba78a82ccf3c39f54d1bcaf26ef63774c7c84f4a45"),
        Derived("derived/items.csv", 2173582,
                "3e06e5040a8e18ddd444cd6077fd81a3883d349d1f11be8b19fddfe10aeda7cc"),
    ), _build_office),
    "amazon-cn": Spec("amazon_cn_sample", (  # the data set is its derived/ folder
        Remote("products.csv", *_AMAZON_CN, f"{_AMAZON_CN_DIR}/products.csv", 25607,
               "99f21feb13ac6a5de19589fc5a55441d0bedfed4fa4d51c553439e65b951d8ca"),
        Remote("ratings.csv", *_AMAZON_CN, f"{_AMAZON_CN_DIR}/ratings.csv", 1237645,
               "bef40905c3d326ce68b5ea7fb995d06d94adfc233945c7479dd102203af3772b"),
    ), (
        Derived("derived/interactions.csv", 1596500,
                "81b2083460f0b58f9db4e806c640a117d33dbf5ff83600cebf976b2e5b0ecd40"),
        Derived("derived/items.csv", 19372,
                "d9c332f799a3e82b56550071a2a3ce5bdcfaf3327c96e547ba6ccaa30fbc2d7d"),
    ), _build_amazon_cn),
    "chinese-online-shopping-10-cats": Spec("chinese_online_shopping_10_cats", (
        Remote("online_shopping_10_cats.zip", *_CN,
               "datasets/online_shopping_10_cats/online_shopping_10_cats.zip", 4084428,
               "6816ded66fde9d0927ecbd370b5e12d0174d1abac35192ec014ac2a0a8d25858"),
    )),
}


def cache_data_dir() -> Path:
    """SHOPREC_CACHE_DIR/data, else ~/.cache/shoprec/data (beside the embedding cache)."""
    root = os.environ.get("SHOPREC_CACHE_DIR") or Path.home() / ".cache" / "shoprec"
    return Path(root).expanduser() / "data"


def spec_of(name: str) -> Spec:
    """The data set called `name` (or whose folder, or a folder inside it such as its `derived/`,
    is `name`); a DataError listing the names."""
    for key, spec in DATASETS.items():
        if name in (key, spec.folder) or name.startswith(f"{spec.folder}/"):
            return spec
    raise DataError(f"unknown data set {name!r}; known: {', '.join(DATASETS)} (or all)")


def how_to_get(name: str, path: Path) -> str:
    """The one message for a data set that is not where shoprec looked (`path`: its folder as
    `sources.NAMED` places it, which may be a subfolder of the Spec's top folder)."""
    spec = spec_of(name)
    return (f"data set {name!r} not found at {path}; run `shoprec fetch-data {name}` to download "
            f"and verify it into {cache_data_dir()} (used when SHOPREC_DATA_DIR is unset), or set "
            f"SHOPREC_DATA_DIR to a folder that holds {spec.folder}/")


def missing_files(name: str, root: Path) -> list[str]:
    """Files of data set `name` absent under `root`, the data folder (not the set's own folder),
    as paths inside the set's top folder, e.g. `derived/items.csv` (presence only; `fetch`
    checks the bytes)."""
    spec = spec_of(name)
    wanted = [f.name for f in spec.remote] + [f.name for f in spec.derived]
    return [f for f in wanted if not (root / spec.folder / f).is_file()]


def _digest(chunks: Iterable[bytes]) -> tuple[int, str]:
    size, h = 0, hashlib.sha256()
    for chunk in chunks:
        size += len(chunk)
        h.update(chunk)
    return size, h.hexdigest()


def _file_digest(path: Path, decompress: bool = False) -> tuple[int, str]:
    try:
        with (gzip.open if decompress else open)(path, "rb") as f:
            return _digest(iter(lambda: f.read(1 << 20), b""))
    except (gzip.BadGzipFile, EOFError):  # a damaged .gz counts as a mismatch, not a crash
        return path.stat().st_size, "(not a readable gzip file)"


def _check(name: str, source: str, want: tuple[int, str], got: tuple[int, str],
           outcome: str = "the file was not saved") -> None:
    if got != want:
        raise DataError(f"{name}: {source} does not match the recorded checksum: expected "
                        f"{want[0]} bytes sha256 {want[1]}, got {got[0]} bytes sha256 {got[1]}; "
                        f"{outcome}")


_KEPT = "left as it is (delete it, or unset SHOPREC_DATA_DIR to use the verified cache)"


def _write_atomic(target: Path, chunks: Iterable[bytes], check: Callable[[tuple[int, str]], None],
                  ) -> None:
    """Stream `chunks` to a temporary file beside `target`; rename it there only if `check`
    accepts its (size, sha256), so readers never see a partial or refused file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            def tee() -> Iterable[bytes]:
                for chunk in chunks:
                    out.write(chunk)
                    yield chunk
            check(_digest(tee()))
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _download(http: httpx.Client, url: str, item: Remote, target: Path) -> None:
    import httpx

    def body() -> Iterable[bytes]:
        with http.stream("GET", url) as response:
            if response.status_code != 200:
                raise DataError(f"{item.name}: {url} answered HTTP {response.status_code}")
            seen = 0
            for chunk in response.iter_bytes():
                seen += len(chunk)
                if seen > item.size:  # never store more than the file we expect
                    raise DataError(f"{item.name}: {url} sent more than the expected "
                                    f"{item.size} bytes sha256 {item.sha256}; not saved")
                yield chunk

    try:
        _write_atomic(target, body(),
                      lambda got: _check(item.name, url, (item.size, item.sha256), got))
    except httpx.HTTPError as exc:
        raise DataError(f"{item.name}: could not download {url}: {exc}") from exc


def fetch(name: str, root: Path | None = None, mirror: str | None = None,
          client: httpx.Client | None = None) -> list[FileStatus]:
    """Make data set `name` complete and verified under `root` (default: the cache).

    Files already there are re-hashed: in the cache a wrong one is fetched again ("cached" when
    right); in a folder the user gave (`root`) a wrong one is an error, never overwritten ("ok"
    when right). Missing files are downloaded from `mirror` (SHOPREC_DATA_MIRROR, else GitHub).
    """
    import httpx

    spec = spec_of(name)
    folder = (root or cache_data_dir()) / spec.folder
    present = "cached" if root is None else "ok"
    base = (mirror or os.environ.get("SHOPREC_DATA_MIRROR") or DEFAULT_MIRROR).rstrip("/")
    rows: list[FileStatus] = []
    owned = (contextlib.nullcontext(client) if client is not None
             else httpx.Client(timeout=60.0, follow_redirects=True))
    try:
        with owned as http:
            for item in spec.remote:
                target, want = folder / item.name, (item.size, item.sha256)
                got = _file_digest(target) if target.is_file() else None
                if got == want:
                    rows.append(FileStatus(item.name, item.size, present))
                    continue
                if got is not None and root is not None:
                    _check(item.name, str(target), want, got, _KEPT)
                _download(http, f"{base}/{item.repo}/{item.commit}/{item.path}", item, target)
                rows.append(FileStatus(item.name, item.size, "fetched"))
        rows += _derive(spec, folder, present, user_folder=root is not None)
    except OSError as exc:  # e.g. a read-only SHOPREC_DATA_DIR
        raise DataError(f"cannot write data set {name!r} into {folder}: {exc}") from exc
    finally:
        for empty in (folder / "derived", folder) if root is None else ():
            with contextlib.suppress(OSError):  # a failed first fetch leaves no empty folders
                empty.rmdir()
    return rows


def _derive(spec: Spec, folder: Path, present: str, user_folder: bool) -> list[FileStatus]:
    """Rebuild the derived files of `spec` in `folder` unless all are there and verified."""
    def digest(d: Derived) -> tuple[int, str] | None:
        path = folder / d.name
        return _file_digest(path, d.name.endswith(".gz")) if path.is_file() else None

    got = {d.name: digest(d) for d in spec.derived}
    if all(got[d.name] == (d.size, d.sha256) for d in spec.derived):
        return [FileStatus(d.name, (folder / d.name).stat().st_size, present) for d in spec.derived]
    for d in spec.derived:
        seen = got[d.name]
        if user_folder and seen is not None:
            _check(d.name, str(folder / d.name), (d.size, d.sha256), seen, _KEPT)
    assert spec.build is not None  # a Spec with derived files always has its recipe
    built = spec.build(folder)
    rows = []
    for d in spec.derived:
        content = built[d.name]
        _check(d.name, f"the rebuilt {d.name}", (d.size, d.sha256), _digest([content]))
        data = gzip.compress(content, compresslevel=9, mtime=0) if d.name.endswith(".gz") else content
        _write_atomic(folder / d.name, [data], lambda _: None)
        rows.append(FileStatus(d.name, len(data), "built"))
    return rows
