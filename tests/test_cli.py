"""The command line end to end on real data: prepare, evaluate, report, train, recommend."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from shoprec.cli import app

runner = CliRunner()


def _slice_folder(beauty_slice, path: Path) -> Path:
    path.mkdir()
    beauty_slice.interactions.select("user_id", "item_id", "timestamp").write_csv(
        path / "interactions.csv")
    beauty_slice.items.select("item_id", "title").write_csv(path / "items.csv")
    return path


def _popular_leave_one_out(folder: Path, k: int) -> dict[str, float]:
    """Recall and NDCG at k of most-popular on the leave-one-out split, computed here from the
    CSV with plain Python (not through shoprec): each shopper's rows in time order (file order
    on ties, identical rows dropped), the last one is the test target, the second-last the
    validation target; popularity counts training rows; items the shopper already has are not
    ranked, and ties with the target rank above it."""
    rows = pl.read_csv(folder / "interactions.csv", schema_overrides={
        "user_id": pl.String, "item_id": pl.String}).unique(maintain_order=True)
    catalogue = set(pl.read_csv(folder / "items.csv", schema_overrides={"item_id": pl.String})
                    ["item_id"]) | set(rows["item_id"])
    sequences: dict[str, list[tuple[int, int, str]]] = {}
    columns = rows.select("user_id", "item_id", "timestamp")
    for n, (user, item, ts) in enumerate(columns.iter_rows()):
        sequences.setdefault(user, []).append((ts, n, item))
    histories = [[item for _, _, item in sorted(seq)] for seq in sequences.values()]
    counts = Counter(i for h in histories for i in (h[:-2] if len(h) >= 3 else h))
    hits, gains = [], []
    for h in (h for h in histories if len(h) >= 3):
        seen, target = set(h[:-1]), h[-1]
        if target in seen:  # already owned: masked, ranked last
            rank = len(catalogue) - 1
        else:
            rank = sum(1 for i in catalogue - seen if counts[i] >= counts[target]) - 1
        hits.append(rank < k)
        gains.append(1 / math.log2(rank + 2) if rank < k else 0.0)
    return {f"recall@{k}": sum(hits) / len(hits), f"ndcg@{k}": sum(gains) / len(gains)}


def test_prepare_prints_a_summary(tmp_path: Path, beauty_slice) -> None:
    src = _slice_folder(beauty_slice, tmp_path / "shop")
    result = runner.invoke(app, ["prepare", str(src), "--out", str(tmp_path / "prep"),
                                 "--kcore", "2"])
    assert result.exit_code == 0, result.output
    assert "users" in result.output and "fingerprint" in result.output
    manifest = json.loads((tmp_path / "prep" / "manifest.json").read_text())
    assert manifest["cleaning"]["min_user"] == 2


def test_evaluate_report_train_recommend(tmp_path: Path, beauty_slice) -> None:
    src = _slice_folder(beauty_slice, tmp_path / "shop")
    out = tmp_path / "popular.json"
    result = runner.invoke(app, ["evaluate", str(src), "--model", "popular", "--json", str(out)])
    assert result.exit_code == 0, result.output
    run = json.loads(out.read_text())
    assert {"dataset", "model", "protocol", "users", "items", "metrics", "train_seconds",
            "eval_seconds"} <= run.keys()
    assert run["protocol"] == "leave-one-out" and run["users"] == beauty_slice.n_users
    expected = _popular_leave_one_out(src, k=10)
    assert run["metrics"]["recall@10"] == pytest.approx(expected["recall@10"], abs=1e-9)
    assert run["metrics"]["ndcg@10"] == pytest.approx(expected["ndcg@10"], abs=1e-9)
    assert 0.01 < expected["recall@10"] < 0.1  # popularity on Beauty: a few per cent, not 0
    result = runner.invoke(app, ["report", str(out), "--out", str(tmp_path / "report")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "report" / "report.png").stat().st_size > 1000
    assert "| shop | popular |" in (tmp_path / "report" / "report.md").read_text()

    bundle = tmp_path / "bundle"
    result = runner.invoke(app, ["train", str(src), "--model", "popular", "--out", str(bundle)])
    assert result.exit_code == 0, result.output
    user = beauty_slice.user_map.ids[0]
    result = runner.invoke(app, ["recommend", str(bundle), "--user", user, "--k", "5"])
    assert result.exit_code == 0, result.output
    top = pl.read_parquet(bundle / "items.parquet")["title"]
    assert any(str(t)[:20] in result.output for t in top.to_list())


def test_user_errors_are_one_clear_line(tmp_path: Path, beauty_slice) -> None:
    result = runner.invoke(app, ["prepare", str(tmp_path / "missing")])
    assert result.exit_code == 2 and "no such file or folder" in result.output
    src = _slice_folder(beauty_slice, tmp_path / "shop")
    result = runner.invoke(app, ["evaluate", str(src), "--model", "nosuchmodel"])
    assert result.exit_code == 2 and "unknown model 'nosuchmodel'" in result.output
    runner.invoke(app, ["train", str(src), "--model", "popular", "--out", str(tmp_path / "b")])
    result = runner.invoke(app, ["recommend", str(tmp_path / "b"), "--user", "nobody"])
    assert result.exit_code == 2 and "unknown id 'nobody'" in result.output
    result = runner.invoke(app, ["recommend", str(tmp_path), "--user", "x"])
    assert result.exit_code == 2 and "not a bundle" in result.output


def test_train_with_tuning_chooses_on_validation(tmp_path: Path, beauty_slice) -> None:
    src = _slice_folder(beauty_slice, tmp_path / "shop")
    result = runner.invoke(app, ["train", str(src), "--model", "itemknn", "--tune",
                                 "--out", str(tmp_path / "b")])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    tried = manifest["tuning"]["tried"]
    assert len(tried) > 1
    best = max(tried, key=lambda t: t["ndcg@10"])
    assert {k: manifest["params"][k] for k in best["params"]} == best["params"]


def test_evaluate_auto_reports_every_candidate_within_its_budget(tmp_path: Path,
                                                                  beauty_slice) -> None:
    src = _slice_folder(beauty_slice, tmp_path / "shop")
    out = tmp_path / "auto.json"
    result = runner.invoke(app, ["evaluate", str(src), "--model", "auto", "--budget", "0.05",
                                 "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "auto: every candidate on validation" in result.output
    run = json.loads(out.read_text())
    labels = [c["label"] for c in run["tried"]]
    assert labels[0] == "itemknn" and "sasrec" in labels
    assert any(c["status"] == "skipped: budget spent" for c in run["tried"])
    done = [c for c in run["tried"] if c["status"] == "ok"]
    best = max(done, key=lambda c: c["valid_ndcg@10"])
    assert run["model"] == f"auto:{best['label']}"
    assert run["valid_metrics"]["ndcg@10"] == pytest.approx(best["valid_ndcg@10"])


def test_report_draws_the_accuracy_benchmark(tmp_path: Path) -> None:
    def row(label: str, ndcg: float) -> dict:
        return {"label": label, "seconds": 1.0, "test": {"recall@10": 2 * ndcg, "ndcg@10": ndcg}}

    accuracy = {"runs": {d: {"data": {"protocol": "leave-one-out"}, "auto": {"chosen": "hybrid"},
                             "results": [row("itemknn", 0.03), row("hybrid", 0.05),
                                         {"label": "ease", "status": "skipped: too large"}]}
                         for d in ("shop-a", "shop-b")}}
    path = tmp_path / "accuracy.json"
    path.write_text(json.dumps(accuracy))
    result = runner.invoke(app, ["report", str(path), "--out", str(tmp_path / "report")])
    assert result.exit_code == 0, result.output
    table = (tmp_path / "report" / "report.md").read_text()
    assert "| shop-b | hybrid (auto) | leave-one-out | 0.1000 | 0.0500 |" in table
    assert "ease" not in table  # a skipped candidate has no figures to show
    assert (tmp_path / "report" / "report.png").stat().st_size > 1000
