"""`shoprec serve`: the shop API and web page on a bundle, one worker or a supervised
pre-forked pool, thin over `shoprec.service.workers`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from shoprec.cli.common import app, console, fail
from shoprec.data.errors import DataError

if TYPE_CHECKING:
    import subprocess

    from shoprec.service.settings import ServiceSettings


@app.command()
def serve(
    bundle: Annotated[Path, typer.Argument(help="bundle folder from `shoprec train`")],
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    seed: Annotated[bool, typer.Option("--seed", help="fill an empty store from the bundle (first "
                                       "start); without it an empty store is refused")] = False,
    demo_shoppers: Annotated[int, typer.Option(help="bundle shoppers the page offers to 'shop "
                                               "as' (a demo: their tokens are in the page)")] = 0,
    workers: Annotated[int | None, typer.Option(
        help="worker processes (default: the machine's cores); with more than one, each is a "
             "fresh process that loads the bundle, supervised by a master")] = None,
    retrain_every: Annotated[str | None, typer.Option(
        help="start a retrain job this often, e.g. 6h, 30m, 1d (default: only when asked)")] = None,
    keep: Annotated[int, typer.Option(help="bundle generations kept for rollback (the original "
                                           "and the serving one are always kept)")] = 3,
    lang: Annotated[str | None, typer.Option(
        help="language of the web page: auto (the browser's Accept-Language, else the "
             "catalogue's language), zh or en; default SHOPREC_LANG, else auto")] = None,
    choose_minutes: Annotated[float | None, typer.Option(
        help="start a job that chooses the model (auto: item-kNN, EASE, the text-aware "
             "transformer, their blend) on the bundle's data within this many minutes; the "
             "bundle serves meanwhile, the choice serves as its next generation when ready")
    ] = None,
) -> None:
    """Serve the shop API and web page for BUNDLE (store: SHOPREC_DATABASE_URL, default SQLite
    beside the bundle; write endpoints need SHOPREC_API_KEY, or the key printed at start)."""
    import os

    from shoprec.generations import describe_serving
    from shoprec.service.settings import ServiceSettings
    from shoprec.service.workers import parse_duration, serve_prefork, serve_single
    from shoprec.store import redact_url

    # requests run side by side, each on one core: OpenMP threads that spin waiting for work
    # steal those cores (one shopper's SASRec score: 2-3 ms with this, 8-18 ms without, on a
    # busy 2-core machine); set before torch loads
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    workers = workers if workers is not None else (os.cpu_count() or 1)
    if workers < 1 or keep < 1:
        fail(f"--workers {workers} --keep {keep}: both must be at least 1")
    if choose_minutes is not None and choose_minutes <= 0:
        fail(f"--choose-minutes {choose_minutes}: must be more than 0")
    try:
        every_s = parse_duration(retrain_every) if retrain_every else None
    except ValueError as exc:
        fail(f"--retrain-every: {exc}")
    # the search index is read at start unless the environment says otherwise
    overrides: dict = {} if "SHOPREC_SEARCH_WARMUP" in os.environ else {"search_warmup": True}
    if seed:
        overrides["seed_store"] = True
    if demo_shoppers:
        overrides["demo_shoppers"] = demo_shoppers
    if lang is not None:
        if lang not in ("auto", "zh", "en"):
            fail(f"--lang {lang}: expected auto, zh or en")
        overrides["lang"] = lang
    settings = ServiceSettings(**overrides, keep_generations=keep)
    generated = not settings.api_key
    settings.ensure_api_key()
    try:
        serving = describe_serving(bundle)
    except DataError as exc:
        fail(str(exc))
    console.print(f"serving {serving} from {bundle}; store "
                  f"{redact_url(settings.resolved_database_url(bundle))}", soft_wrap=True)
    if generated:
        console.print(f"API key for this run (set SHOPREC_API_KEY to fix one): {settings.api_key}",
                      soft_wrap=True)
    console.print(f"shop page: http://{host}:{port}/   API docs: http://{host}:{port}/docs   "
                  f"workers: {workers}" + (f"   retrain every {retrain_every}" if every_s else ""),
                  soft_wrap=True)
    chooser: list[subprocess.Popen] = []

    def choose() -> None:  # once the store is open and seeded (the first worker did it)
        if choose_minutes and (proc := _start_choosing(bundle, settings, choose_minutes)):
            chooser.append(proc)

    try:
        if workers == 1:
            serve_single(bundle, settings, host, port, every_s, on_ready=choose)
        else:
            raise typer.Exit(code=serve_prefork(bundle, settings, host, port, workers, every_s,
                                                on_ready=choose))
    finally:
        for proc in chooser:
            if proc.poll() is None:  # its work would serve nowhere
                proc.terminate()
                proc.wait(timeout=30)


def _start_choosing(bundle: Path, settings: ServiceSettings, minutes: float
                    ) -> subprocess.Popen | None:
    """Launch the background choice (`service.choose`) once the store is open and seeded; the
    process, or None (said why) when a job runs or an experiment does."""
    from shoprec.service.retrain_job import launch

    try:
        started = launch(bundle, settings, choose_minutes=minutes)
    except DataError as exc:
        console.print(f"[yellow]not choosing a model: {exc}[/yellow]", soft_wrap=True)
        return None
    if started is None:
        console.print("[yellow]not choosing a model: a job is already running on the "
                      "bundle[/yellow]")
        return None
    job, proc = started
    console.print(f"choosing a model with auto within {minutes:g} minutes in the background "
                  f"(job {job['job']}, GET /admin/retrain/{job['job']}); it serves as the next "
                  "generation when ready", soft_wrap=True)
    return proc

