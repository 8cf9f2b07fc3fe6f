"""Reads and writes of the experiment tables (exposures, assignments, outcomes).

Exposure and assignment rows arrive in batches from the service's background writer, so these
inserts take many rows at once and ignore a row already stored (a retried flush, a shopper
assigned by two workers at once). Reads return plain tuples; the statistics live in
`shoprec.experiments`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from shoprec.store.schema import assignments, exposures, outcomes


@dataclass(frozen=True)
class ExposureRow:
    """One served list as stored (items in order, position 1 first)."""

    request_id: str
    created_at: float
    user_id: str | None
    experiment: str | None
    variant: str | None
    surface: str
    item_type: str | None
    items: str  # JSON list of item ids
    latency_ms: float
    status: int


@dataclass(frozen=True)
class OutcomeRow:
    """An event that named the list it came from."""

    request_id: str
    user_id: str
    item_id: str
    event: str
    position: int | None
    price: float | None
    created_at: float


def _insert(engine: Engine) -> Any:
    return postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert


_EXPOSURE_COLUMNS = tuple(ExposureRow.__dataclass_fields__)


def add_exposures(engine: Engine, rows: Sequence[ExposureRow]) -> None:
    """One transaction through the pooled DBAPI connection and one prepared statement: the
    background writer runs beside requests, and SQL expression compilation per row would take
    the interpreter from them (about 5x the time of a plain executemany here)."""
    if not rows:
        return
    mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
    sql = (f"INSERT INTO exposures ({', '.join(_EXPOSURE_COLUMNS)}) VALUES "
           f"({', '.join([mark] * len(_EXPOSURE_COLUMNS))}) ON CONFLICT (request_id) DO NOTHING")
    params = [tuple(getattr(r, c) for c in _EXPOSURE_COLUMNS) for r in rows]
    conn = engine.raw_connection()
    try:
        cursor = conn.cursor()
        cursor.executemany(sql, params)
        cursor.close()
        conn.commit()
    except Exception:
        conn.rollback()
        raise
    finally:
        conn.close()


def add_assignments(engine: Engine, rows: Sequence[tuple[str, str, str, float]]) -> None:
    """(experiment, user_id, variant, assigned_at) rows; a shopper keeps their first one."""
    if not rows:
        return
    stmt = _insert(engine)(assignments).on_conflict_do_nothing(
        index_elements=["experiment", "user_id"])
    with engine.begin() as conn:
        conn.execute(stmt, [{"experiment": e, "user_id": u, "variant": v, "assigned_at": t}
                            for e, u, v, t in rows])


def add_outcomes(engine: Engine, rows: Sequence[OutcomeRow]) -> int:
    if rows:
        with engine.begin() as conn:
            conn.execute(outcomes.insert(), [r.__dict__ for r in rows])
    return len(rows)


def experiment_exposures(engine: Engine, experiment: str | None, since: float = 0.0
                         ) -> list[ExposureRow]:
    """An experiment's exposures (every exposure when `experiment` is None) since `since`."""
    query = select(*[exposures.c[f] for f in ExposureRow.__dataclass_fields__]).where(
        exposures.c.created_at >= since).order_by(exposures.c.created_at)
    if experiment is not None:
        query = query.where(exposures.c.experiment == experiment)
    with engine.connect() as conn:
        return [ExposureRow(*r) for r in conn.execute(query)]


def experiment_outcomes(engine: Engine, experiment: str) -> list[OutcomeRow]:
    """Outcomes whose request id is one of the experiment's exposures."""
    query = (select(*[outcomes.c[f] for f in OutcomeRow.__dataclass_fields__])
             .join(exposures, exposures.c.request_id == outcomes.c.request_id)
             .where(exposures.c.experiment == experiment).order_by(outcomes.c.id))
    with engine.connect() as conn:
        return [OutcomeRow(*r) for r in conn.execute(query)]


def assignment_counts(engine: Engine, experiment: str) -> dict[str, int]:
    """Shoppers assigned to each variant (the sample-ratio check counts these)."""
    query = (select(assignments.c.variant, func.count()).where(
        assignments.c.experiment == experiment).group_by(assignments.c.variant))
    with engine.connect() as conn:
        return {v: int(n) for v, n in conn.execute(query)}


def stored_assignment(engine: Engine, experiment: str, user_id: str) -> str | None:
    query = select(assignments.c.variant).where(assignments.c.experiment == experiment,
                                                assignments.c.user_id == user_id)
    with engine.connect() as conn:
        return conn.execute(query).scalar()


def count_exposures(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(exposures)).scalar_one())


def forget_user(engine: Engine, user_id: str) -> int:
    """Remove a deleted shopper's exposures, assignments and outcomes; rows removed."""
    removed = 0
    with engine.begin() as conn:
        for table in (exposures, assignments, outcomes):
            removed += conn.execute(delete(table).where(table.c.user_id == user_id)).rowcount
    return removed
