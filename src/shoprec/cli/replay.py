"""`shoprec replay`: an A/B readout from real held-back events played through the live API."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from shoprec.cli.common import app, console, fail
from shoprec.cli.experiments import readout_table
from shoprec.data.errors import DataError


@contextmanager
def local_server(bundle: Path, work: Path, api_key: str):
    """`shoprec serve BUNDLE --seed` (one worker) on a free port and a fresh SQLite store."""
    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, SHOPREC_API_KEY=api_key,
               SHOPREC_DATABASE_URL=f"sqlite:///{work / 'replay-store.sqlite'}")
    log = (work / "serve.log").open("w")
    proc = subprocess.Popen([str(Path(sys.executable).with_name("shoprec")), "serve", str(bundle),
                             "--seed", "--port", str(port), "--workers", "1"], env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 600
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise DataError(f"the replay's server did not start: "
                                f"{(work / 'serve.log').read_text()[-1500:]}")
            try:
                if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
        log.close()


def run_replay(url: str, api_key: str, challenger: Path, held: list, k: int, clients: int,
               min_lift: float = 0.10, control_name: str = "control",
               challenger_name: str = "challenger") -> dict[str, Any]:
    """Start a 50/50 experiment (control: the serving bundle) on the server, replay, read it."""
    import httpx

    from shoprec.experiments.replay import replay

    key = {"X-API-Key": api_key}
    r = httpx.post(f"{url}/admin/experiments", headers=key, timeout=600, json={
        "name": "replay", "min_detectable_lift": min_lift, "variants": [{"name": control_name},
                                       {"name": challenger_name,
                                        "bundle": str(Path(challenger).resolve())}]})
    if r.status_code != 201:
        raise DataError(f"starting the experiment failed ({r.status_code}): {r.text[:500]}")
    exp = r.json()
    tally = replay(url, held, k, clients, api_key=api_key)
    readout = httpx.get(f"{url}/admin/experiments/{exp['id']}", headers=key, timeout=600).json()
    httpx.post(f"{url}/admin/experiments/{exp['id']}/stop", headers=key, timeout=600)
    return {"experiment": exp["id"], "readout": readout,
            "client_tally": {"exposures": dict(tally.exposures), "clicks": dict(tally.clicks),
                             "failed_requests": tally.failed, "seconds": round(tally.seconds, 1)}}


@app.command()
def replay(
    dataset: Annotated[str, typer.Argument(help="the data set both bundles were trained on with "
                                                "`shoprec train --hold-out-last`")],
    control: Annotated[Path, typer.Option(help="control bundle (serves, unless --url)")],
    challenger: Annotated[Path, typer.Option(help="challenger bundle")],
    url: Annotated[str | None, typer.Option(help="a running service serving the control "
                                                 "(default: start one here)")] = None,
    api_key: Annotated[str | None, typer.Option(help="its key (default SHOPREC_API_KEY)")] = None,
    shoppers: Annotated[int | None, typer.Option(help="held-back events replayed (a random "
                                                      "sample; default all)")] = None,
    k: Annotated[int, typer.Option(help="list length")] = 10,
    clients: Annotated[int, typer.Option(help="concurrent simulated shoppers")] = 4,
    seed: Annotated[int, typer.Option(help="seed of the sample")] = 0,
    min_lift: Annotated[float, typer.Option(help="smallest relative CTR lift the fixed horizon "
                                                 "must detect (power 0.8, alpha 0.05)")] = 0.10,
    json_path: Annotated[Path | None, typer.Option("--json", help="write the readout here")] = None,
) -> None:
    """Replay held-back events (each shopper's last interaction) through the live API: a shopper
    clicks a served item only when it is their real next item (Li et al., WSDM 2011); prints
    the A/B readout."""
    from shoprec.data.sources import load_dataset
    from shoprec.experiments.holdout import hold_out_last
    from shoprec.experiments.replay import sample

    try:
        _, held = hold_out_last(load_dataset(dataset))
        chosen = sample(held, shoppers, seed)
        console.print(f"replaying {len(chosen):,} of {len(held):,} held-back events")
        if url:
            key = api_key or os.environ.get("SHOPREC_API_KEY") or fail("--api-key is needed")
            result = run_replay(url, key, challenger, chosen, k, clients, min_lift)
        else:
            key = secrets.token_urlsafe(16)
            with tempfile.TemporaryDirectory() as work, local_server(control, Path(work),
                                                                      key) as here:
                result = run_replay(here, key, challenger, chosen, k, clients, min_lift)
    except DataError as exc:
        fail(str(exc))
    console.print(readout_table(result["readout"]))
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(result, indent=2))
