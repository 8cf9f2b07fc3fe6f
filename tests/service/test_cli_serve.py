"""`shoprec serve` as a user runs it: its own process, a store beside the bundle, a printed key."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.service.conftest import EXE, clean_env, free_port

pytestmark = pytest.mark.slow


def test_an_empty_or_lost_store_is_refused_and_its_password_never_printed(
        slice_bundle: Path, tmp_path: Path, database_url) -> None:
    """Without --seed, a store with nothing in it (new, or lost) is refused with one message,
    and the database URL in that message has no password."""
    url, schema = database_url
    if url.startswith("postgresql"):  # trust auth accepts any password: a real URL with one
        url = url.replace("postgres@", "postgres:s3cret-pw@")
    env = clean_env(SHOPREC_DATABASE_URL=url, **({"SHOPREC_DATABASE_SCHEMA": schema} if schema else {}))
    run = subprocess.run([str(EXE), "serve", str(slice_bundle), "--port", str(free_port())],
                         check=False, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode != 0
    assert "is empty (new, or lost); start with --seed" in run.stderr, run.stderr
    assert "s3cret-pw" not in run.stdout + run.stderr
    if schema:
        assert "postgres:***@" in run.stderr
    else:  # a refused start leaves no empty database file behind
        assert not Path(url.removeprefix("sqlite:///")).exists()


def test_serve_command_answers_and_its_key_guards_writes(slice_bundle: Path, tmp_path: Path) -> None:
    bundle = tmp_path / "shop-bundle"
    shutil.copytree(slice_bundle, bundle)
    port = free_port()
    proc = subprocess.Popen([str(EXE), "serve", str(bundle), "--port", str(port), "--seed"],
                            env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
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
