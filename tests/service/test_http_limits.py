"""Hostile clients over real HTTP (issue 24): a 100 MB body on any route is refused before it
is read, and the key brake counts the socket's peer, believing X-Forwarded-For only from a
trusted proxy, and never refuses the right key.

The body tests run against `shoprec serve` as its own process, so the server's memory can be
read from /proc (a bound on behaviour: a refused body must not be held, not a timing)."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.service.conftest import API_KEY, LiveServer, free_port, serving_copy
from tests.service.test_cli_serve import EXE, clean_env

pytestmark = pytest.mark.slow
KEY = {"X-API-Key": API_KEY}
MB = 1 << 20
BLOCK = b" " * 65536  # JSON whitespace: a body a route could parse, were it read


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmHWM for process {pid}")


def raw_post(port: int, path: str, total: int, chunked: bool, method: str = "POST",
             headers: dict[str, str] | None = None, tail: bytes = b"") -> tuple[int, dict]:
    """Send `total` bytes of body (declared with Content-Length, or chunked without one) on a
    plain socket while reading the answer; stops sending when the server closes. Returns the
    status and the JSON answer."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {total + len(tail)}"
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"{extra}{framing}\r\n\r\n").encode()
    reply = bytearray()

    def read() -> None:
        try:
            while chunk := sock.recv(65536):
                reply.extend(chunk)
        except OSError:  # reset once the server closed with our body unread
            pass

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        sock.sendall(head)
        for part in [BLOCK] * (total // len(BLOCK)) + ([tail] if tail else []):
            sock.sendall(b"%x\r\n%s\r\n" % (len(part), part) if chunked else part)
        if chunked:
            sock.sendall(b"0\r\n\r\n")
    except OSError:  # the server answered and closed before the body ended
        pass
    reader.join(timeout=60)
    sock.close()
    head_text, _, body = bytes(reply).partition(b"\r\n\r\n")
    assert head_text.startswith(b"HTTP/1.1 "), f"no answer from {path}: {bytes(reply[:200])!r}"
    return int(head_text.split()[1]), json.loads(body) if body else {}


@pytest.fixture(scope="module")
def served(slice_bundle: Path, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[int, subprocess.Popen]]:
    """`shoprec serve --workers 1` with the default settings (no trusted proxy)."""
    folder = tmp_path_factory.mktemp("limits")
    shutil.copytree(slice_bundle, folder / "bundle")
    port = free_port()
    log = folder / "log"
    proc = subprocess.Popen([str(EXE), "serve", str(folder / "bundle"), "--port", str(port),
                             "--seed", "--workers", "1"], env=clean_env(SHOPREC_API_KEY=API_KEY),
                            stdout=subprocess.DEVNULL, stderr=log.open("w"))
    deadline = time.monotonic() + 180
    while True:
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "shoprec serve did not answer in 180 s"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    try:
        yield port, proc
    finally:
        proc.terminate()
        proc.wait(timeout=60)


ROUTES = [("POST", "/chat"), ("POST", "/admin/experiments"), ("POST", "/events"),
          ("POST", "/items"), ("POST", "/users/big-1/token"), ("GET", "/recommendations/big-1"),
          ("PUT", "/no-such-route")]


def test_a_100_mb_body_is_refused_on_every_route_before_it_is_read(served) -> None:
    port, proc = served
    url = f"http://127.0.0.1:{port}"
    for method, path in ROUTES:  # each route's own first-use memory, before measuring
        httpx.request(method, url + path, json={"message": "red nail polish"}, timeout=60)
    before = peak_rss_mb(proc.pid)
    for method, path in ROUTES:
        for chunked in (False, True):
            status, body = raw_post(port, path, 100 * MB, chunked, method)
            assert status == 413, (method, path, chunked, body)
            assert "over the limit of 1000000" in body["error"], body
    grown = peak_rss_mb(proc.pid) - before
    assert grown < 50, f"peak memory grew {grown:.0f} MiB over 14 refused 100 MB bodies"
    assert httpx.get(f"{url}/health", timeout=30).json()["status"] == "ok"


def test_a_body_within_the_cap_is_served_declared_or_chunked(served) -> None:
    port, _ = served
    item = httpx.get(f"http://127.0.0.1:{port}/recommendations/x?k=1").json()["items"][0]
    event = json.dumps({"user_id": "within-1", "item_id": item["item_id"], "event": "view"})
    for chunked in (False, True):  # 917,504 bytes of whitespace, then the event
        status, body = raw_post(port, "/events", 14 * len(BLOCK), chunked, headers=KEY,
                                tail=event.encode())
        assert (status, body) == (200, {"stored": 1, "duplicates": 0, "attributed": 0}), body
    status, body = raw_post(port, "/chat", 2 * len(BLOCK), True,
                            tail=b'{"message": "red nail polish"}')
    assert status == 200 and body["items"], body


def test_forwarded_for_is_not_believed_without_a_trusted_proxy(served) -> None:
    """Default settings: 40 wrong keys claiming 40 addresses are one client (the socket's
    peer), braked after 10; the right key still passes."""
    port, _ = served
    url = f"http://127.0.0.1:{port}"
    codes = [httpx.post(f"{url}/items", json={"item_id": "x"},
                        headers={"X-API-Key": f"wrong-{n}", "X-Forwarded-For": f"10.1.0.{n}"}
                        ).status_code for n in range(40)]
    assert codes == [401] * 10 + [429] * 30
    r = httpx.post(f"{url}/users/brake-1/token", headers=KEY | {"X-Forwarded-For": "10.1.0.1"})
    assert r.status_code == 200
    token = {"X-Shopper-Token": r.json()["token"]}
    assert httpx.get(f"{url}/users/brake-1/profile", headers=token).status_code == 200


@pytest.fixture
def behind_proxy(slice_bundle: Path, tmp_path: Path) -> Iterator[LiveServer]:
    with serving_copy(slice_bundle, tmp_path, trusted_proxies="127.0.0.1") as live:
        yield live


def test_a_trusted_proxy_s_forwarded_for_names_the_client(behind_proxy: LiveServer) -> None:
    live = behind_proxy

    def wrong(address: str) -> int:
        return live.client.post("/items", json={"item_id": "x"}, headers={
            "X-API-Key": "wrong", "X-Forwarded-For": address}).status_code

    assert [wrong(f"10.2.0.{n}") for n in range(40)] == [401] * 40  # 40 clients, one try each
    assert [wrong("10.2.1.1") for _ in range(12)] == [401] * 10 + [429] * 2  # 10.2.1.1 braked
    assert wrong("10.2.1.2") == 401  # its neighbour is not
    mine = live.client.post("/users/proxy-1/token", headers=KEY | {"X-Forwarded-For": "10.2.1.1"})
    assert mine.status_code == 200  # the right key from the braked address
