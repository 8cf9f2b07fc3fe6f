"""`GET /recommendations` answered from `shoprec precompute`'s stored list while it is fresh."""

from __future__ import annotations

from pathlib import Path

from shoprec.distributed.precompute import bundle_version
from shoprec.store.precomputed import write_precomputed
from tests.service.conftest import API_KEY, serving_copy


def test_fresh_precomputed_lists_answer_and_stale_ones_do_not(slice_bundle: Path,
                                                              tmp_path: Path,
                                                              server_mode: str) -> None:
    with serving_copy(slice_bundle, tmp_path, server_mode, serve_precomputed=True) as live:
        user = live.ctx.serving.bundle.dataset.user_map.ids[0]
        model = live.client.get(f"/recommendations/{user}?k=5").json()
        assert model["strategy"] == "model"
        stored = [i["item_id"] for i in model["items"]][::-1]  # told apart from the model's order
        version = bundle_version(live.ctx.serving.bundle.manifest)
        write_precomputed(live.ctx.store, [(user, stored, [5.0, 4.0, 3.0, 2.0, 1.0])], version)
        answer = live.client.get(f"/recommendations/{user}?k=5").json()
        assert answer["strategy"] == "precomputed" and answer["request_id"]
        assert [i["item_id"] for i in answer["items"]] == stored
        assert live.client.get(f"/recommendations/{user}?k=6").json()["strategy"] == "model"
        filtered = live.client.get(f"/recommendations/{user}?k=5&exclude={stored[0]}").json()
        assert filtered["strategy"] == "model"  # a filtered list is the model's
        r = live.client.post("/events", json={"user_id": user, "item_id": stored[0],
                                              "event": "purchase"}, headers={"X-API-Key": API_KEY})
        assert r.status_code == 200
        after = live.client.get(f"/recommendations/{user}?k=5").json()
        assert after["strategy"] == "model" and stored[0] not in [i["item_id"] for i in after["items"]]
        other = live.ctx.serving.bundle.dataset.user_map.ids[1]
        write_precomputed(live.ctx.store, [(other, stored, [1.0] * 5)], "another-bundle")
        assert live.client.get(f"/recommendations/{other}?k=5").json()["strategy"] == "model"
