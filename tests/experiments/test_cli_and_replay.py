"""`shoprec experiment start|status|stop|promote` on a real bundle, and the replay's simulated
shoppers against a live server: they click only their real next item, and the service's
readout counts exactly those clicks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shoprec.cli import app
from shoprec.experiments import lifecycle
from shoprec.experiments.holdout import hold_out_last
from shoprec.experiments.replay import replay, sample
from shoprec.generations import serving_path
from tests.service.conftest import API_KEY, serving_copy, write_slice_bundle

runner = CliRunner()


@pytest.fixture(scope="module")
def bundles(beauty_slice, tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("cli-exp")
    return (write_slice_bundle(beauty_slice, folder / "knn"),
            write_slice_bundle(beauty_slice, folder / "popular", "popular"))


def test_start_status_stop_and_promote_from_the_command_line(bundles, tmp_path: Path) -> None:
    knn, popular = bundles
    bundle = tmp_path / "serving"
    shutil.copytree(knn, bundle)
    store = f"sqlite:///{tmp_path / 'store.sqlite'}"
    bad = runner.invoke(app, ["experiment", "start", str(bundle), "--variant", "a"])
    assert bad.exit_code == 2 and "at least two variants" in bad.output
    started = runner.invoke(app, ["experiment", "start", str(bundle), "--variant", "control",
                                  "--variant", f"popular={popular}:3", "--name", "cli test"])
    assert started.exit_code == 0, started.output
    running = lifecycle.running_experiment(bundle)
    assert [(v.name, v.weight) for v in running.variants] == [("control", 1.0), ("popular", 3.0)]
    status = runner.invoke(app, ["experiment", "status", str(bundle), "--database-url", store,
                                 "--json"])
    assert status.exit_code == 0, status.output
    readout = json.loads(status.output)
    assert [v["exposures"] for v in readout["variants"]] == [0, 0]
    assert runner.invoke(app, ["experiment", "ramp", str(bundle), "0.25"]).exit_code == 0
    assert lifecycle.running_experiment(bundle).ramp == 0.25
    assert runner.invoke(app, ["experiment", "stop", str(bundle)]).exit_code == 0
    assert lifecycle.running_experiment(bundle) is None
    runner.invoke(app, ["experiment", "start", str(bundle), "--variant", "control",
                        "--variant", f"popular={popular}"])
    promoted = runner.invoke(app, ["experiment", "promote", str(bundle), "--variant", "popular"])
    assert promoted.exit_code == 0, promoted.output
    generation, path = serving_path(bundle)
    assert generation == 1 and json.loads((path / "manifest.json").read_text())["model"] == "popular"
    finished = lifecycle.all_experiments(bundle)
    assert [e.state for e in finished] == ["promoted", "stopped"]


def test_replayed_shoppers_click_only_their_real_next_item(bundles, beauty_slice,
                                                           tmp_path: Path) -> None:
    _, popular = bundles
    history, held = hold_out_last(beauty_slice)
    knn = write_slice_bundle(history, tmp_path / "knn-history")  # never saw the held-back items
    chosen = sample(held, 300, seed=1)
    with serving_copy(knn, tmp_path) as live:
        r = live.client.post("/admin/experiments", headers={"X-API-Key": API_KEY}, json={
            "variants": [{"name": "knn"}, {"name": "popular", "bundle": str(popular)}]})
        assert r.status_code == 201
        tally = replay(live.url, chosen, k=10, clients=2, api_key=API_KEY)
        assert tally.failed == 0 and sum(tally.exposures.values()) == 300
        readout = live.client.get(f"/admin/experiments/{r.json()['id']}",
                                  headers={"X-API-Key": API_KEY}).json()
    got = {v["name"]: v for v in readout["variants"]}
    for name in ("knn", "popular"):
        assert got[name]["exposures"] == tally.exposures[name]
        assert got[name]["ctr"]["successes"] == tally.clicks[name]
    assert sum(tally.clicks.values()) > 0  # a next item is in a top 10 about one time in 20
