"""`shoprec retrain` and `shoprec rollback`: a bundle's next generation (here or on a running
service) and going back to an earlier one, thin over `shoprec.service.retrain_job` and
`shoprec.generations`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from shoprec.cli.common import app, console, fail
from shoprec.data.errors import DataError


def _figures_table(champion: dict, challenger: dict) -> Table:
    table = Table(title=f"champion vs challenger on the same fresh shoppers "
                        f"({int(challenger.get('users', champion.get('users', 0)))}), "
                        "full ranking, history excluded")
    for col in ("metric", "champion", "challenger"):
        table.add_column(col, justify="right" if col != "metric" else "left")
    for key in sorted((set(champion) | set(challenger)) - {"users"}):
        table.add_row(key, f"{champion.get(key, float('nan')):.4f}",
                      f"{challenger.get(key, float('nan')):.4f}")
    return table


@app.command()
def retrain(
    bundle: Annotated[Path | None, typer.Argument(
        help="serving bundle folder (a new generation is published beside it when better)")] = None,
    database_url: Annotated[str | None, typer.Option(
        help="store URL (default: SHOPREC_DATABASE_URL or the SQLite file beside the bundle)")] = None,
    tolerance: Annotated[float, typer.Option(help="accept a challenger NDCG@10 down to (1 - this) "
                                                  "x the champion's")] = 0.05,
    server: Annotated[str | None, typer.Option(
        help="URL of a running service: start its retrain job and wait for it (needs "
             "SHOPREC_API_KEY)")] = None,
    rechoose: Annotated[bool, typer.Option(
        "--rechoose", help="choose the model again (--model auto) instead of keeping the serving "
                           "bundle's kind and parameters")] = False,
    keep: Annotated[int, typer.Option(help="bundle generations kept for rollback")] = 3,
) -> None:
    """Retrain BUNDLE from the store's catalogue and events: the challenger faces the serving
    champion on the same fresh shoppers and serves (a new generation) when not worse."""
    if server and rechoose:
        fail("--rechoose runs here, not on a server: leave out --server")
    if server:
        job = _retrain_on_server(server)
    else:
        if bundle is None:
            fail("give the BUNDLE folder, or --server URL of a running service")
        job = _retrain_here(bundle, database_url, tolerance, rechoose, keep)
    if job["champion_metrics"] or job["challenger_metrics"]:
        console.print(_figures_table(job["champion_metrics"], job["challenger_metrics"]))
    colour = {"swapped": "green", "kept": "yellow"}.get(job["state"], "red")
    console.print(f"[{colour}]{job['state']}:[/{colour}] {job['reason']}", soft_wrap=True)
    if job["state"] == "failed":
        raise typer.Exit(code=1)


def _retrain_here(bundle: Path, database_url: str | None, tolerance: float, rechoose: bool,
                  keep: int) -> dict:
    """The job's own code, run in this process (the lock and the job file as on a server)."""
    from shoprec.bundle import load_bundle
    from shoprec.experiments.lifecycle import no_experiment_running
    from shoprec.generations import serving_path
    from shoprec.service.retrain_job import run_here
    from shoprec.service.settings import ServiceSettings

    try:
        load_bundle(serving_path(bundle)[1])
        no_experiment_running(bundle)
        settings = ServiceSettings(**({"database_url": database_url} if database_url else {}),
                                   retrain_tolerance=tolerance, keep_generations=keep)
    except (DataError, ValueError) as exc:
        fail(str(exc))
    job = run_here(bundle, settings, rechoose, progress=console.print)
    if job is None:
        fail(f"{bundle}: a retrain job is already running")
    return job


def _retrain_on_server(server: str) -> dict:
    import os
    import time

    import httpx

    headers = {"X-API-Key": os.environ.get("SHOPREC_API_KEY", "")}
    base = server.rstrip("/")
    try:
        response = httpx.post(f"{base}/admin/retrain", headers=headers, timeout=30)
        if response.status_code != 202:
            fail(f"{server}: {response.status_code} {response.json().get('error', response.text)}")
        job_id = response.json()["job"]
        console.print(f"retrain job {job_id} started on {server}")
        while True:
            job = httpx.get(f"{base}/admin/retrain/{job_id}", headers=headers, timeout=30).json()
            if job["state"] in ("swapped", "kept", "failed"):
                return job
            time.sleep(1.0)
    except httpx.HTTPError as exc:
        fail(f"{server}: {exc}")
    raise AssertionError("unreachable")


@app.command()
def rollback(
    bundle: Annotated[Path, typer.Argument(help="bundle folder that `shoprec serve` serves")],
    to: Annotated[int | None, typer.Option(
        help="generation to serve (default: the newest one older than the serving one)")] = None,
) -> None:
    """Serve an earlier generation of BUNDLE; a running service picks it up by itself."""
    from shoprec.bundle import load_bundle
    from shoprec.generations import files_lock, generations, serving_path
    from shoprec.generations import rollback as roll_back

    try:
        with files_lock(bundle):
            generation = roll_back(bundle, to)
        manifest = load_bundle(serving_path(bundle)[1]).manifest
    except DataError as exc:
        fail(str(exc))
    console.print(f"serving generation {generation} of {bundle}: {manifest.get('model')} "
                  f"created {manifest.get('created')} ({manifest.get('interactions')} "
                  f"interactions); kept: {', '.join(map(str, generations(bundle)))}",
                  soft_wrap=True)

