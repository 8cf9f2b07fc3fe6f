"""Operations: retrain jobs and health."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class RetrainQueued(BaseModel):
    job: str = Field(description="poll GET /admin/retrain/{job} for its state")
    state: Literal["queued"]


class RetrainJobOut(BaseModel):
    """A retrain job: champion (the serving model) and challenger scored on the same fresh
    shoppers, and what happened."""

    job: str
    kind: Literal["retrain", "choose"] = Field(
        "retrain", description="retrain: a challenger fitted on the store's events, gated on "
                               "fresh shoppers; choose: auto on the bundle's own data "
                               "(`shoprec serve --choose-minutes`)")
    state: Literal["queued", "running", "swapped", "kept", "failed"]
    reason: str = Field(description="why it swapped, kept the old bundle, or failed")
    champion_metrics: dict[str, float] = Field(default_factory=dict)
    challenger_metrics: dict[str, float] = Field(default_factory=dict)
    generation: int = Field(description="the generation serving after the job (the new one "
                                        "when swapped)")
    seconds: float | None = None
    started: str | None = None
    finished: str | None = None
    traceback: str | None = Field(None, description="a failed job's traceback")
    priority: str | None = Field(None, description="the job process's CPU class: idle (only "
                                                   "what serving leaves) or nice 19")


class HealthOut(BaseModel):
    """GET /health's body (also sent with 503 when the store cannot be read)."""

    status: Literal["ok", "degraded", "down"]
    store: str = Field(description="the store's kind: sqlite or postgresql")
    store_checks: dict[str, str]
    model: str
    model_items: int
    generation: int | None
    workers: int
    pid: int
    last_retrain: dict[str, Any] | None
    catalogue_items: int
    search_index: str = Field(description="building (search answers 503), ready, on first search")
    events: int | None
