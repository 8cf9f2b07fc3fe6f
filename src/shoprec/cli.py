"""The `shoprec` command line: thin commands over the stage packages; each prints a table.

Commands of later stages register below the marked line; each imports its stage lazily so
`shoprec --help` stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from shoprec.data.errors import DataError

if TYPE_CHECKING:
    import subprocess

    from shoprec.service.settings import ServiceSettings

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="shoprec: language-model driven recommendations for online shops.")
console = Console()


def fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


def clean_options(kcore: int, dedupe: str):
    from shoprec.data.clean import CleanOptions

    return CleanOptions(dedupe=dedupe, min_user=kcore, min_item=kcore)  # type: ignore[arg-type]


KCore = Annotated[int, typer.Option(help="iterative k-core: drop users/items with fewer interactions")]
Dedupe = Annotated[str, typer.Option(help="duplicate removal: none, exact or user-item")]
Budget = Annotated[float | None, typer.Option(
    help="--model auto: wall-clock minutes for trying the family (default: 30 for a shop of "
         "Beauty's size, about 200k interactions; proportionally less for smaller ones)")]
MODEL_HELP = ("model name (see the registry), or auto: try the family within --budget and keep "
              "the best on validation")


@app.command()
def prepare(
    source: Annotated[str, typer.Argument(help="amazon-beauty, movielens-100k, or a path")],
    out: Annotated[Path | None, typer.Option(help="prepared folder (default artifacts/prepared/NAME)")] = None,
    kcore: KCore = 1,
    dedupe: Dedupe = "exact",
) -> None:
    """Read SOURCE, clean it, and write a prepared folder (Parquet + manifest)."""
    from shoprec.data.prepare import prepare_dataset

    try:
        manifest = prepare_dataset(source, out, clean_options(kcore, dedupe))
    except DataError as exc:
        fail(str(exc))
    table = Table(title=f"prepared {manifest['name']} -> {manifest['path']}")
    table.add_column("what")
    table.add_column("value", justify="right")
    for key in ("users", "items", "interactions", "items_with_text", "density",
                "mean_history", "first_time", "last_time", "fingerprint"):
        table.add_row(key, str(manifest[key]))
    console.print(table)


@app.command()
def evaluate(
    dataset: Annotated[str, typer.Argument(help="data set name or path")],
    model: Annotated[str, typer.Option(help=MODEL_HELP)] = "itemknn",
    protocol: Annotated[str, typer.Option(help="leave-one-out or temporal")] = "leave-one-out",
    json_path: Annotated[Path | None, typer.Option("--json", help="write the result here")] = None,
    budget: Budget = None,
    kcore: KCore = 1,
    dedupe: Dedupe = "exact",
) -> None:
    """Train on train, pick hyper-parameters on validation, report test (full ranking)."""
    from shoprec.data.sources import load_dataset
    from shoprec.evaluation.protocol import run_evaluation

    try:
        ds = load_dataset(dataset, clean_options(kcore, dedupe))
        if model == "auto":
            from shoprec.evaluation.auto import evaluate_auto

            result = evaluate_auto(ds, protocol, budget, progress=console.print)
            console.print(_candidates_table(result.tried))
        else:
            result = run_evaluation(ds, model, protocol)
    except (DataError, KeyError, ValueError) as exc:
        fail(str(exc))
    title = (f"{result.model} on {result.dataset} ({result.protocol}, full ranking, test) "
             f"params={result.params}")
    console.print(_metric_table(result.metrics, title=title))
    console.print(f"train {result.train_seconds:.1f}s, eval {result.eval_seconds:.1f}s, "
                  f"coverage@20 {result.metrics['coverage@20']:.3f}")
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(result.to_json(), indent=2))


def _candidates_table(candidates: list[dict]) -> Table:
    table = Table(title="auto: every candidate on validation (the best one is kept)")
    for col in ("candidate", "parameters", "valid ndcg@10", "seconds", "status"):
        table.add_column(col, justify="right" if col in ("valid ndcg@10", "seconds") else "left")
    for c in candidates:
        ndcg = c["valid_ndcg@10"]
        params = {k: v for k, v in c["params"].items() if k not in ("progress", "threads")}
        table.add_row(c["label"], json.dumps(params, default=str)[:60],
                      "" if ndcg is None else f"{ndcg:.4f}", f"{c['seconds']:.0f}", c["status"])
    return table


def _metric_table(metrics: dict[str, float], title: str | None) -> Table:
    table = Table(title=title)
    table.add_column("metric")
    for k in (5, 10, 20):
        table.add_column(f"@{k}", justify="right")
    for metric in ("recall", "ndcg", "mrr", "precision", "f1"):
        table.add_row(metric, *[f"{metrics[f'{metric}@{k}']:.4f}" for k in (5, 10, 20)])
    return table


@app.command()
def train(
    dataset: Annotated[str, typer.Argument(help="data set name or path")],
    out: Annotated[Path, typer.Option(help="bundle folder to write")],
    model: Annotated[str, typer.Option(help=MODEL_HELP)] = "itemknn",
    params: Annotated[str | None, typer.Option(help='JSON of model parameters, e.g. \'{"neighbours": 50}\'')] = None,
    tune: Annotated[bool, typer.Option(help="choose parameters on a validation split of DATASET first")] = False,
    budget: Budget = None,
    kcore: KCore = 1,
    dedupe: Dedupe = "exact",
    event_weights: Annotated[str | None, typer.Option(
        help="how strongly each event type counts, e.g. purchase=4,cart=3 (defaults: view 1, "
             "click 1.5, cart 2.5, purchase 3, rating x its stars, dismiss -1)")] = None,
    hold_out_last: Annotated[bool, typer.Option(
        help="leave each shopper's last interaction out (for `shoprec replay`)")] = False,
) -> None:
    """Fit MODEL on all of DATASET and write a bundle."""
    from shoprec.data.events import EventWeights
    from shoprec.training import train_bundle

    try:
        weights = EventWeights.parse(event_weights) if event_weights else None
        path = train_bundle(dataset, out, model, json.loads(params) if params else None,
                            clean_options(kcore, dedupe), tune=tune, budget_minutes=budget,
                            progress=console.print, event_weights=weights,
                            hold_out_last=hold_out_last)
    except (DataError, KeyError, ValueError) as exc:
        fail(str(exc))
    if model == "auto":
        selection = json.loads((path / "manifest.json").read_text())["selection"]
        console.print(_candidates_table(selection["candidates"]))
        console.print(f"chosen: [bold]{selection['chosen']}[/bold] in {selection['seconds']:.0f} s "
                      f"(budget {selection['budget_minutes']} min)")
    console.print(f"bundle written to {path}")


@app.command()
def report(
    results: Annotated[list[Path], typer.Argument(help="JSON files from `shoprec evaluate --json`")],
    out: Annotated[Path, typer.Option(help="folder for report.md and report.png")] = Path("artifacts/report"),
) -> None:
    """A markdown table and a PNG bar chart of several evaluation runs."""
    from shoprec.evaluation.report import write_report

    md, png = write_report(results, out)
    console.print(md.read_text())
    console.print(f"written {md} and {png}")


@app.command()
def demo(
    dataset: Annotated[str, typer.Option(help="data set name or path")] = "amazon-beauty",
    out: Annotated[Path, typer.Option(help="bundle folder")] = Path("artifacts/demo-bundle"),
    serve_shop: Annotated[bool, typer.Option("--serve/--no-serve", help="then serve the shop "
                                             "page and API on the bundle")] = False,
    port: Annotated[int, typer.Option(help="TCP port for --serve")] = 8000,
    budget: Annotated[float | None, typer.Option(
        help="minutes for choosing the model with auto (default 4); with --serve it runs in "
             "the background while item-kNN serves, and its choice then serves without a "
             "restart")] = None,
    lang: Annotated[str, typer.Option(
        help="language of the served page: auto (the browser's, else the catalogue's), zh, en"
    )] = "auto",
) -> None:
    """Prepare the default data, train item-kNN (seconds), show recommendations; then choose a
    model with auto (short budget) and publish it as the bundle's next generation: in the
    background while the shop serves (--serve), else here."""
    from shoprec.demo import DEMO_BUDGET_MINUTES, choose_here, run_demo

    if lang not in ("auto", "zh", "en"):
        fail(f"--lang {lang}: expected auto, zh or en")
    minutes = budget or DEMO_BUDGET_MINUTES
    try:
        path = run_demo(dataset, out, console)
        if not serve_shop:
            choose_here(path, minutes, console)
    except DataError as exc:
        fail(str(exc))
    if serve_shop:  # the demo's store is its own: seeded on first start, 12 shoppers to try
        serve(path, host="127.0.0.1", port=port, seed=True, demo_shoppers=12, lang=lang,
              choose_minutes=minutes)


# ---- commands of later stages register below this line ----


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
    from shoprec.experiments.config import no_experiment_running
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


@app.command("finetune-encoder")
def finetune_encoder_command(
    dataset: Annotated[str, typer.Argument(help="data set name or path")],
    out: Annotated[Path, typer.Option(help="folder for the fine-tuned encoder")] = Path(
        "artifacts/encoders/finetuned"),
    base: Annotated[str, typer.Option(help="encoder to start from: minilm or a local folder")] = "minilm",
    minutes: Annotated[float, typer.Option(help="wall-clock budget for training")] = 15.0,
    steps: Annotated[int | None, typer.Option(help="step budget (default: one pass)")] = None,
    batch_size: Annotated[int, typer.Option(help="pairs per step (in-batch negatives)")] = 64,
    learning_rate: Annotated[float, typer.Option(help="AdamW learning rate")] = 3e-5,
    histories: Annotated[str, typer.Option(
        help="leave-one-out: train on the training part only (keeps evaluation honest); "
             "full: every interaction")] = "leave-one-out",
    train_layers: Annotated[int | None, typer.Option(
        help="train only the top N transformer layers (faster on a CPU); default all")] = None,
    threads: Annotated[int, typer.Option(help="CPU threads")] = 2,
    kcore: KCore = 1,
    dedupe: Dedupe = "exact",
) -> None:
    """Fine-tune the sentence encoder on pairs of items bought one after the other."""
    from shoprec.data.sources import load_dataset
    from shoprec.data.splits import full_train, leave_one_out
    from shoprec.text.finetune import FinetuneConfig, finetune_encoder

    if histories not in ("leave-one-out", "full"):
        fail(f"--histories {histories!r}: expected leave-one-out or full")
    try:
        ds = load_dataset(dataset, clean_options(kcore, dedupe))
        data = leave_one_out(ds).train if histories == "leave-one-out" else full_train(ds)
        config = FinetuneConfig(base=base, max_minutes=minutes, max_steps=steps,
                                batch_size=batch_size, learning_rate=learning_rate,
                                train_layers=train_layers, threads=threads)
        result = finetune_encoder(data, out, config)
    except (DataError, ValueError) as exc:
        fail(str(exc))
    table = Table(title=f"fine-tuned {base} on {ds.name} ({histories} histories)")
    table.add_column("what")
    table.add_column("value", justify="right")
    for key, value in (("device", result.device), ("steps", result.steps),
                       ("pairs seen / available", f"{result.pairs_seen} / {result.pairs_available}"),
                       ("seconds", f"{result.seconds:.0f}"),
                       ("loss first 20 -> last 20 steps",
                        f"{result.first_loss:.3f} -> {result.last_loss:.3f}")):
        table.add_row(key, str(value))
    console.print(table)
    console.print(f"encoder written to {result.path}; use it with "
                  f"--params '{{\"encoder\": \"{result.path}\"}}' (content, semantic)")


@app.command("fetch-data")
def fetch_data(
    name: Annotated[str, typer.Argument(help="amazon-beauty, movielens-100k, "
                                        "chinese-online-shopping-10-cats, or all")],
    mirror: Annotated[str | None, typer.Option(help="base URL laid out like raw.githubusercontent"
                                               ".com (default SHOPREC_DATA_MIRROR, else GitHub)")] = None,
) -> None:
    """Download a data set from its public source, check each file's SHA-256, and cache it.

    With SHOPREC_DATA_DIR set, checks (and completes) the copy there instead.
    """
    import os

    from shoprec.data.fetch import DATASETS, cache_data_dir, fetch

    local = os.environ.get("SHOPREC_DATA_DIR")
    root = Path(local).expanduser() if local else None
    table = Table(title=f"data in {root or cache_data_dir()}")
    for column in ("data set", "file", "bytes", "status"):
        table.add_column(column, justify="right" if column == "bytes" else "left", overflow="fold")
    for each in (list(DATASETS) if name == "all" else [name]):
        try:
            rows = fetch(each, root=root, mirror=mirror)
        except DataError as exc:
            if table.row_count:
                console.print(table)
            fail(str(exc))
        for row in rows:
            table.add_row(each, row.name, f"{row.size:,}", row.status)
    console.print(table)


# the shop's answers (recommend, search, explain, profile) live in their own module
from shoprec import (
    cli_chat,  # noqa: F401 - `shoprec chat`
    cli_experiments,  # noqa: F401 - `experiment` and `replay` commands
    cli_scale,  # noqa: F401 - `shoprec precompute`
    cli_shop,  # noqa: F401 - registers its commands on `app`
)
