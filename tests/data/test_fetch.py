"""`shoprec fetch-data`: download from a local mirror of raw.githubusercontent.com, verify, cache.

Why a real HTTP server: the fetcher's promises (verified bytes, atomic cache, clear refusals) are
about what happens on the wire, so the tests serve the real data files over 127.0.0.1 in the
`/{repo}/{commit}/{path}` layout, with a request counter, and never touch the internet.
"""

from __future__ import annotations

import gzip
import shutil
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from shoprec.data.errors import DataError
from shoprec.data.fetch import fetch
from shoprec.data.published import DATASETS, how_to_get, missing_files, spec_of
from shoprec.data.sources import NAMED, data_dir, load_dataset, resolve

SOURCE = data_dir()  # the real files (shared folder or the cache), read before any test moves it
ABSENT = {name: how_to_get(name, SOURCE / spec.folder) for name, spec in DATASETS.items()
          if missing_files(name, SOURCE)}


def real(name: str) -> Path:
    """The real files of data set `name`, served by the mirror; a clear failure when absent."""
    if name in ABSENT:
        pytest.fail(ABSENT[name], pytrace=False)
    return SOURCE / DATASETS[name].folder


class Mirror:
    """A local raw.githubusercontent.com: `/{repo}/{commit}/{path}` under `root`, counting GETs."""

    def __init__(self, root: Path) -> None:
        self.root, self.requests = root, 0
        mirror = self

        class Handler(SimpleHTTPRequestHandler):
            def do_GET(self) -> None:  # http.server calls it by this name
                mirror.requests += 1
                super().do_GET()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(root)))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def add(self, name: str, corrupt: str | None = None, leave_out: str | None = None) -> None:
        """Serve the original files of data set `name` (one byte changed in `corrupt`)."""
        spec, folder = DATASETS[name], real(name)
        for item in spec.remote:
            if item.name == leave_out:
                continue
            target = self.root / item.repo / item.commit / item.path
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(folder / item.name, target)
            if item.name == corrupt:
                data = bytearray(target.read_bytes())
                data[len(data) // 2] ^= 0x01
                target.write_bytes(bytes(data))


@pytest.fixture
def mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Mirror]:
    """A running mirror; the cache is a fresh tmp folder and SHOPREC_DATA_DIR is unset."""
    monkeypatch.setenv("SHOPREC_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("SHOPREC_DATA_DIR", raising=False)
    for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                  "all_proxy"):
        monkeypatch.delenv(proxy, raising=False)
    m = Mirror(tmp_path / "www")
    thread = threading.Thread(target=m.server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield m
    m.server.shutdown()
    m.server.server_close()


def cached_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_fetch_movielens_verifies_caches_and_loads(mirror: Mirror, tmp_path: Path) -> None:
    mirror.add("movielens-100k")
    rows = fetch("movielens-100k", mirror=mirror.url)
    assert [(r.name, r.status) for r in rows] == [
        ("README", "fetched"), ("u.data", "fetched"), ("u.item", "fetched")]
    folder = tmp_path / "cache" / "data" / "movielens_100k"
    assert data_dir() == tmp_path / "cache" / "data"
    for name in ("README", "u.data", "u.item"):
        assert (folder / name).read_bytes() == (SOURCE / "movielens_100k" / name).read_bytes()
    assert mirror.requests == 3
    ds = load_dataset("movielens-100k")
    assert (ds.n_users, ds.n_items, ds.interactions.height) == (943, 1682, 100000)
    again = fetch("movielens-100k", mirror=mirror.url)
    assert {r.status for r in again} == {"cached"} and mirror.requests == 3  # no new requests


def test_a_corrupted_file_is_refused_and_never_cached(mirror: Mirror, tmp_path: Path) -> None:
    mirror.add("movielens-100k", corrupt="u.data")
    item = next(i for i in DATASETS["movielens-100k"].remote if i.name == "u.data")
    with pytest.raises(DataError, match=r"u\.data.*expected.*" + item.sha256) as err:
        fetch("movielens-100k", mirror=mirror.url)
    assert "got 1979173 bytes sha256 " in str(err.value)
    assert cached_files(tmp_path / "cache") == ["data/movielens_100k/README"]  # verified only


def test_a_missing_file_is_a_clear_error(mirror: Mirror, tmp_path: Path) -> None:
    mirror.add("movielens-100k", leave_out="README")
    with pytest.raises(DataError, match=r"README: http://127\.0\.0\.1:\d+/.*/README answered HTTP 404"):
        fetch("movielens-100k", mirror=mirror.url)
    assert cached_files(tmp_path / "cache") == []


def test_an_unreachable_mirror_is_a_clear_error(monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    monkeypatch.setenv("SHOPREC_CACHE_DIR", str(tmp_path))
    with pytest.raises(DataError, match="README: could not download http://127.0.0.1:9/"):
        fetch("movielens-100k", mirror="http://127.0.0.1:9", client=httpx.Client(trust_env=False))
    assert cached_files(tmp_path) == []


def test_beauty_derived_files_are_rebuilt_and_verified(mirror: Mirror, tmp_path: Path) -> None:
    """The derived TSVs are published nowhere: they are rebuilt by the README's joins."""
    mirror.add("amazon-beauty")
    rows = {r.name: r.status for r in fetch("amazon-beauty", mirror=mirror.url)}
    assert rows["derived/beauty_items.tsv"] == rows["derived/beauty_interactions.tsv.gz"] == "built"
    shared, cache = SOURCE / "amazon_beauty_2014_5core", tmp_path / "cache/data/amazon_beauty_2014_5core"
    name = "derived/beauty_items.tsv"
    assert (cache / name).read_bytes() == (shared / name).read_bytes()
    name = "derived/beauty_interactions.tsv.gz"  # same content; the gzip stream may differ
    assert gzip.decompress((cache / name).read_bytes()) == gzip.decompress((shared / name).read_bytes())
    assert resolve("amazon-beauty") == cache
    (cache / name).write_bytes(b"broken")  # a damaged cached file is rebuilt, not trusted
    rows = {r.name: r.status for r in fetch("amazon-beauty", mirror=mirror.url)}
    assert rows["Beauty.txt"] == "cached" and rows[name] == "built"


#: The development sets whose NAMED folder is the generic-format `derived/` inside the Spec's
#: folder, with (shoppers, items, interactions) as the README counts them.
DEV_SETS = {"amazon-games": (50546, 16859, 440264), "amazon-office": (4905, 2420, 53258),
            "amazon-cn": (8923, 96, 44852)}


@pytest.mark.parametrize("name", DEV_SETS)
def test_dev_set_build_from_the_originals_alone_matches_the_recorded_hashes(
        name: str, tmp_path: Path) -> None:
    """The recipe reads only the original files (copied alone here) and writes the shared
    generic-format CSVs byte for byte."""
    import hashlib

    spec = DATASETS[name]
    for item in spec.remote:
        shutil.copyfile(real(name) / item.name, tmp_path / item.name)
    assert spec.build is not None
    built = spec.build(tmp_path)
    assert sorted(built) == sorted(d.name for d in spec.derived)
    for d in spec.derived:
        data = built[d.name]
        assert (len(data), hashlib.sha256(data).hexdigest()) == (d.size, d.sha256), d.name
        assert data == (real(name) / d.name).read_bytes()


@pytest.mark.parametrize("name", DEV_SETS)
def test_dev_set_is_fetched_built_and_loads_from_its_derived_folder(
        name: str, mirror: Mirror, tmp_path: Path) -> None:
    spec = DATASETS[name]
    mirror.add(name)
    rows = {r.name: r.status for r in fetch(name, mirror=mirror.url)}
    assert rows == {**{i.name: "fetched" for i in spec.remote},
                    **{d.name: "built" for d in spec.derived}}
    assert mirror.requests == len(spec.remote)
    cache = tmp_path / "cache" / "data" / spec.folder
    for d in spec.derived:
        assert (cache / d.name).read_bytes() == (real(name) / d.name).read_bytes()
    assert missing_files(name, data_dir()) == []  # what tests/conftest.py checks
    assert resolve(name) == data_dir() / NAMED[name] == cache / "derived"
    ds = load_dataset(name)
    assert (ds.n_users, ds.n_items, ds.interactions.height) == DEV_SETS[name]
    again = fetch(name, mirror=mirror.url)
    assert {r.status for r in again} == {"cached"} and mirror.requests == len(spec.remote)


def test_dev_set_derived_files_are_built_into_a_local_data_dir(mirror: Mirror,
                                                               tmp_path: Path) -> None:
    """A SHOPREC_DATA_DIR with only the originals is completed (no download), not refused."""
    spec, local = DATASETS["amazon-office"], tmp_path / "local"
    (local / spec.folder).mkdir(parents=True)
    for item in spec.remote:
        shutil.copyfile(real("amazon-office") / item.name, local / spec.folder / item.name)
    assert missing_files("amazon-office", local) == [d.name for d in spec.derived]
    rows = {r.name: r.status for r in fetch("amazon-office", root=local, mirror=mirror.url)}
    assert rows == {"Office.item.json": "ok", "Office.inter.json": "ok",
                    "derived/interactions.csv": "built", "derived/items.csv": "built"}
    assert mirror.requests == 0 and missing_files("amazon-office", local) == []


def test_named_folders_agree_with_the_fetch_specs() -> None:
    """Every named data set can be fetched, and its NAMED folder is the Spec's folder or a
    subfolder of it that holds its derived files (what resolve() and conftest look in)."""
    for name, folder in NAMED.items():
        spec = spec_of(name)
        assert spec is DATASETS[name] and spec_of(folder) is spec
        assert folder == spec.folder or folder.startswith(f"{spec.folder}/"), name
        inside = folder.removeprefix(spec.folder).strip("/")
        if inside:
            assert spec.derived and all(d.name.startswith(f"{inside}/") for d in spec.derived)
        assert f"holds {spec.folder}/" in how_to_get(name, data_dir() / folder)


def test_a_local_data_dir_is_checked_not_overwritten(mirror: Mirror, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    local = tmp_path / "local"
    shutil.copytree(real("movielens-100k"), local / "movielens_100k")
    rows = fetch("movielens-100k", root=local, mirror=mirror.url)
    assert {r.status for r in rows} == {"ok"} and mirror.requests == 0
    (local / "movielens_100k" / "u.item").write_bytes(b"edited")
    with pytest.raises(DataError, match="u.item: .* left as it is"):
        fetch("movielens-100k", root=local, mirror=mirror.url)
    assert (local / "movielens_100k" / "u.item").read_bytes() == b"edited"


def test_missing_named_set_says_how_to_fetch_it(monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    monkeypatch.setenv("SHOPREC_DATA_DIR", str(tmp_path))
    assert data_dir() == tmp_path
    with pytest.raises(DataError, match="shoprec fetch-data movielens-100k"):
        resolve("movielens-100k")
    with pytest.raises(DataError, match="unknown data set 'nope'"):
        fetch("nope")


def test_cli_fetch_data_prints_a_table(mirror: Mirror) -> None:
    from typer.testing import CliRunner

    from shoprec.cli import app

    mirror.add("movielens-100k")
    result = CliRunner().invoke(app, ["fetch-data", "movielens-100k", "--mirror", mirror.url])
    assert result.exit_code == 0, result.output
    assert "u.data" in result.output and "1,979,173" in result.output and "fetched" in result.output
    result = CliRunner().invoke(app, ["fetch-data", "all", "--mirror", mirror.url + "/nothing"])
    assert result.exit_code == 2 and "HTTP 404" in result.output


def test_recorded_checksums_match_the_real_files() -> None:
    """The constants are the shared copies' sizes and hashes (derived .gz: decompressed)."""
    import hashlib

    for name, spec in DATASETS.items():
        folder = real(name)
        for item in spec.remote:
            data = (folder / item.name).read_bytes()
            assert (len(data), hashlib.sha256(data).hexdigest()) == (item.size, item.sha256)
        for d in spec.derived:
            data = (folder / d.name).read_bytes()
            data = gzip.decompress(data) if d.name.endswith(".gz") else data
            assert (len(data), hashlib.sha256(data).hexdigest()) == (d.size, d.sha256)
