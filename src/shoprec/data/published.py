"""Where each data set the demo and the tests read is published, file by file, and how to find it.

Every original file is a byte-for-byte copy of a file in a public GitHub repository at a pinned
commit (shared/data/README.md names each), recorded here with its size and SHA-256 (computed
from the shared copies); derived files carry the same record and the recipe that rebuilds them
(`rebuild`). `fetch` downloads and verifies against these records.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from shoprec.data.errors import DataError
from shoprec.data.rebuild import build_amazon_cn, build_beauty, build_games, build_office


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
    ), build_beauty),
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
    ), build_games),
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
    ), build_office),
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
    ), build_amazon_cn),
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
