"""`shoprec serve` as a user runs it: its own process, a store beside the bundle, a printed key."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.service.conftest import free_port

pytestmark = pytest.mark.slow


def test_serve_command_answers_and_its_key_guards_writes(slice_bundle: Path, tmp_path: Path) -> None:
    bundle = tmp_path / "shop-bundle"
    shutil.copytree(slice_bundle, bundle)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPREC_") or k == "SHOPREC_DATA_DIR"}
    env.update(SHOPREC_SEARCH_WARMUP="0", PYTHONUNBUFFERED="1")
    exe = Path(sys.executable).with_name("shoprec")
    proc = subprocess.Popen([str(exe), "serve", str(bundle), "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, proc.stdout.read()
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "shoprec serve did not answer in 120 s"
            time.sleep(0.3)
        user = httpx.get(f"{url}/recommendations/x?k=3").json()
        assert len(user["items"]) == 3
        assert httpx.post(f"{url}/items", json={"item_id": "n1"}).status_code == 401
        printed = "".join(proc.stdout.readline() for _ in range(2))
        key = re.search(r"API key for this run \(set SHOPREC_API_KEY to fix one\): (\S+)", printed)
        assert key, printed
        r = httpx.post(f"{url}/items", json={"item_id": "n1"}, headers={"X-API-Key": key[1]})
        assert r.status_code == 200
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
    assert (tmp_path / "shop-bundle.store.sqlite").is_file()
