"""Train / validation / test splits in the two protocols the literature uses.

Leave-one-out: each shopper's last interaction is the test target, the second-last the
validation target, the rest is training (shoppers with fewer than 3 interactions are kept whole
in training and not evaluated). Temporal: two global time cut-offs; everything before the first
trains, the windows after it are validation and test, so no model sees the future.
"""

from __future__ import annotations

import numpy as np

from shoprec.data.dataset import Dataset
from shoprec.data.errors import DataError
from shoprec.data.types import EvalSet, History, Split, TrainData


def _user_arrays(ds: Dataset) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    frame = ds.interactions
    users = frame["user"].to_numpy()
    bounds = np.searchsorted(users, np.arange(ds.n_users + 1))
    items = frame["item"].to_numpy().astype(np.int64)
    values = frame.select(ds.event_weights.strength_expr())[:, 0].to_numpy()
    ts = frame["timestamp"].fill_null(0).to_numpy()
    cut = lambda a: [a[bounds[u] : bounds[u + 1]] for u in range(ds.n_users)]
    return cut(items), cut(values), cut(ts)


def full_train(ds: Dataset) -> TrainData:
    """All interactions as training data (what `shoprec train` fits a bundle on)."""
    items, values, ts = _user_arrays(ds)
    hist = [History(i, v, t) for i, v, t in zip(items, values, ts)]
    return TrainData(histories=hist, n_items=ds.n_items, items=ds.items)


def leave_one_out(ds: Dataset) -> Split:
    items, values, ts = _user_arrays(ds)
    train, v_users, v_hist, v_tgt, t_users, t_hist, t_tgt = [], [], [], [], [], [], []
    for u, (i, v, t) in enumerate(zip(items, values, ts)):
        if len(i) < 3:
            train.append(History(i, v, t))
            continue
        train.append(History(i[:-2], v[:-2], t[:-2]))
        v_users.append(u)
        v_hist.append(History(i[:-2], v[:-2], t[:-2]))
        v_tgt.append(i[-2:-1])
        t_users.append(u)
        t_hist.append(History(i[:-1], v[:-1], t[:-1]))
        t_tgt.append(i[-1:])
    if not v_users:
        raise DataError(f"{ds.name}: no shopper has 3 or more interactions; leave-one-out needs them")
    return Split(
        protocol="leave-one-out",
        train=TrainData(histories=train, n_items=ds.n_items, items=ds.items),
        valid=EvalSet(np.asarray(v_users), v_hist, v_tgt),
        test=EvalSet(np.asarray(t_users), t_hist, t_tgt),
    )


def last_item_split(ds: Dataset) -> Split:
    """Model selection before a bundle is trained on everything: each shopper with 3+ items gives
    their last item as the validation target and the rest trains. There is no separate test
    window (`test` is the validation set): the choice is scored, not reported as a result."""
    items, values, ts = _user_arrays(ds)
    train, users, hist, targets = [], [], [], []
    for u, (i, v, t) in enumerate(zip(items, values, ts)):
        if len(i) < 3:
            train.append(History(i, v, t))
            continue
        train.append(History(i[:-1], v[:-1], t[:-1]))
        users.append(u)
        hist.append(train[-1])
        targets.append(i[-1:])
    if not users:
        raise DataError(f"{ds.name}: no shopper has 3 or more interactions to choose a model on")
    valid = EvalSet(np.asarray(users, dtype=np.int64), hist, targets)
    return Split("last-item validation", TrainData(train, ds.n_items, ds.items), valid, valid)


def temporal(ds: Dataset, valid_fraction: float = 0.1, test_fraction: float = 0.1) -> Split:
    """Global temporal split by interaction-count quantiles of time.

    Targets are the distinct items a shopper (who has training history) touched inside the window
    and had not touched before it.
    """
    if not ds.has_timestamps:
        raise DataError(f"{ds.name}: a temporal split needs a timestamp on every interaction")
    all_ts = np.sort(ds.interactions["timestamp"].to_numpy())
    t1 = all_ts[int(len(all_ts) * (1 - valid_fraction - test_fraction))]
    t2 = all_ts[int(len(all_ts) * (1 - test_fraction))]
    items, values, ts = _user_arrays(ds)
    train = [History(i[t < t1], v[t < t1], t[t < t1]) for i, v, t in zip(items, values, ts)]

    def window(lo: int, hi: int | None) -> EvalSet:
        users, hist, tgt = [], [], []
        for u, (i, v, t) in enumerate(zip(items, values, ts)):
            before = t < lo
            inside = (t >= lo) & (t < hi) if hi is not None else t >= lo
            if not before.any() or not inside.any():
                continue
            new = np.setdiff1d(np.unique(i[inside]), i[before])
            if len(new):
                users.append(u)
                hist.append(History(i[before], v[before], t[before]))
                tgt.append(new)
        return EvalSet(np.asarray(users, dtype=np.int64), hist, tgt)

    return Split("temporal", TrainData(train, ds.n_items, ds.items), window(t1, t2), window(t2, None))


def make_split(ds: Dataset, protocol: str) -> Split:
    """The split a protocol name stands for (what `shoprec evaluate --protocol` takes)."""
    if protocol == "leave-one-out":
        return leave_one_out(ds)
    if protocol == "temporal":
        return temporal(ds)
    raise ValueError(f"unknown protocol {protocol!r}; expected leave-one-out or temporal")
