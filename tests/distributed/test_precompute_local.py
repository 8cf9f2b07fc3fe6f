"""`shoprec precompute` in one process (--workers 0, no Ray) and its refresh after new events."""

from __future__ import annotations

from typer.testing import CliRunner

from shoprec.bundle import write_bundle
from shoprec.cli import app
from shoprec.data.splits import full_train
from shoprec.models.itemknn import ItemKNN
from shoprec.store import EventRecord, Store
from shoprec.store.precomputed import read_precomputed, stale_shoppers


def test_precompute_then_refresh_only_the_shopper_who_acted(beauty_slice, tmp_path) -> None:
    model = ItemKNN(neighbours=50).fit(full_train(beauty_slice))
    bundle = write_bundle(tmp_path / "bundle", beauty_slice, model)
    url = f"sqlite:///{tmp_path / 'shop.sqlite'}"
    store = Store(url)
    store.seed_from_dataset(beauty_slice)
    store.close()
    run = CliRunner().invoke(app, ["precompute", str(bundle), "--workers", "0",
                                   "--database-url", url])
    assert run.exit_code == 0, run.output
    user = beauty_slice.user_map.ids[3]
    store = Store(url)
    try:
        before = read_precomputed(store, user)
        assert before is not None and len(before.items) == 10 and stale_shoppers(store) == []
        bought = before.items[0]
        store.add_events([EventRecord(user, bought, "purchase")])
        assert stale_shoppers(store) == [user]
    finally:
        store.close()
    run = CliRunner().invoke(app, ["precompute", str(bundle), "--workers", "0", "--refresh",
                                   "--database-url", url])
    assert run.exit_code == 0, run.output
    assert "│ written  │ 1" in run.output or " 1 " in run.output
    store = Store(url)
    try:
        after = read_precomputed(store, user)
        assert bought not in after.items  # now in the history, so no longer recommended
        assert stale_shoppers(store) == []
    finally:
        store.close()
