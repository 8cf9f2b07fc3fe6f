"""Deleting a shopper end to end: the store forgets them, their profile cannot be rebuilt, and the
next bundle trained from the store holds no trace of their id."""

from pathlib import Path

from shoprec.bundle import write_bundle
from shoprec.data.clean import CleanOptions
from shoprec.data.dataset import Dataset, build_dataset
from shoprec.data.splits import full_train
from shoprec.models.itemknn import ItemKNN
from shoprec.privacy.traces import find_user_traces
from shoprec.profiles.profile import ProfileBuilder
from shoprec.retraining import store_events
from shoprec.store import EventRecord, Store


def dataset_from_store(store: Store) -> Dataset:
    """What a retrain job trains on: the store's catalogue and (cleaned) events."""
    return build_dataset(*store_events(store, CleanOptions()), name="store")


def test_deleted_shopper_is_gone_from_store_profiles_and_next_bundle(beauty_slice,
                                                                     tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    store.seed_from_dataset(beauty_slice)
    # a real shopper's history under a long id, so the raw bytes of every file can be searched
    user = "shopper-7f3a9c2e-to-be-forgotten"
    real = beauty_slice.interactions.filter(beauty_slice.interactions["user"] == 42)
    store.add_events([EventRecord(user, i, "purchase", None, t)
                      for i, t in zip(real["item_id"], real["timestamp"])])
    ds = dataset_from_store(store)
    assert user in ds.user_map and user in ProfileBuilder().fit(ds).build_all(ds)
    before = write_bundle(tmp_path / "before", ds, ItemKNN().fit(full_train(ds)))
    assert find_user_traces(before, user) == ["interactions.parquet: user_id"]  # control

    assert store.delete_user(user) == real.height
    assert store.user_events(user) == [] and store.count_events(user) == 0
    ds = dataset_from_store(store)
    assert user not in ds.user_map
    assert user not in ProfileBuilder().fit(ds).build_all(ds)
    after = write_bundle(tmp_path / "after", ds, ItemKNN().fit(full_train(ds)))
    assert find_user_traces(after, user) == []
    store.close()
    # the database files themselves: deleted rows must not linger in free pages (SQLite zeroes
    # them only with secure_delete, which Debian's build turns on by default)
    for f in tmp_path.glob("store.sqlite*"):
        assert user.encode() not in f.read_bytes(), f.name
    kept = Store(f"sqlite:///{tmp_path / 'control.sqlite'}")  # control: undeleted, found
    kept.add_events([EventRecord(user, "1", "purchase", None, 0)])
    kept.close()
    assert user.encode() in (tmp_path / "control.sqlite").read_bytes()
