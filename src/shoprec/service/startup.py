"""Opening the app as `shoprec serve` does, in the single process and in each worker alike: a
store or bundle the operator got wrong ends the process with one line on stderr, no traceback."""

from __future__ import annotations

import sys
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.exc import SQLAlchemyError

from shoprec.data.errors import DataError
from shoprec.service.settings import ServiceSettings

#: The exit status of a process that could not open its bundle or store (the CLI's usage error).
CANNOT_START = 2


def create_app_or_exit(bundle: Path | str, settings: ServiceSettings) -> FastAPI:
    """`create_app`, or exit CANNOT_START with "error: ..." on stderr."""
    from shoprec.service.app import create_app

    try:
        return create_app(Path(bundle), settings)
    except DataError as exc:
        _exit(str(exc))
    except SQLAlchemyError as exc:  # the database refused or did not answer: say so, no traceback
        from shoprec.service.errors import outage_reason
        from shoprec.store import redact_url

        _exit(f"cannot open the store at {redact_url(settings.resolved_database_url(Path(bundle)))}"
              f": {outage_reason(exc)}")
    raise AssertionError("unreachable")


def _exit(message: str) -> None:
    print(f"error: {message}", file=sys.stderr, flush=True)
    raise SystemExit(CANNOT_START)
