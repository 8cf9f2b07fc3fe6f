"""`shoprec profile` and `shoprec explain` end to end on bundles trained by the CLI."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shoprec.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def movielens_bundle(tmp_path_factory: pytest.TempPathFactory, movielens) -> Path:
    out = tmp_path_factory.mktemp("ml") / "bundle"
    result = runner.invoke(app, ["train", "movielens-100k", "--model", "itemknn", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_profile_prints_genre_tags_and_activity(movielens_bundle: Path) -> None:
    result = runner.invoke(app, ["profile", str(movielens_bundle), "--user", "196"])
    assert result.exit_code == 0, result.output
    assert "Comedy" in result.output and "activity:" in result.output
    assert "price band: unknown" in result.output  # MovieLens has no prices
    body = json.loads(runner.invoke(app, ["profile", str(movielens_bundle), "--user", "196",
                                          "--json"]).output)
    assert body["tags"][0]["tag"] == "Comedy"  # 196's ratings are mostly comedies
    assert body["activity"]["events"] == 39


def test_explain_cites_rated_movies(movielens_bundle: Path) -> None:
    result = runner.invoke(app, ["explain", str(movielens_bundle), "--user", "196", "--k", "3"])
    assert result.exit_code == 0, result.output
    assert "Because you rated" in result.output


def test_unknown_shopper_is_one_clear_error(movielens_bundle: Path) -> None:
    result = runner.invoke(app, ["profile", str(movielens_bundle), "--user", "no-such-shopper"])
    assert result.exit_code == 2
    assert "no-such-shopper" in result.output


def test_beauty_profile_uses_cached_topics(tmp_path: Path, beauty_300, embedding_cache_dir,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPREC_CACHE_DIR", str(embedding_cache_dir.parent))
    monkeypatch.setattr("shoprec.text.cache.default_cache_dir", lambda: embedding_cache_dir)
    shop = tmp_path / "shop"
    shop.mkdir()
    beauty_300.items.select("item_id", "title").write_csv(shop / "items.csv")
    beauty_300.interactions.select("user_id", "item_id", "timestamp").write_csv(
        shop / "interactions.csv")
    bundle = tmp_path / "bundle"
    assert runner.invoke(app, ["train", str(shop), "--model", "itemknn", "--out",
                               str(bundle)]).exit_code == 0
    user = beauty_300.user_map.ids[0]
    result = runner.invoke(app, ["profile", str(bundle), "--user", user, "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)  # (stderr shows the encoder loading)
    assert body["tags"] and {t["kind"] for t in body["tags"]} == {"topic"}
    assert (bundle / "profiles" / "topics.json").is_file()
