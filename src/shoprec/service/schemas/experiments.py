"""Experiments over HTTP: the bodies that start and change one, and the readouts and the
dashboard's overview they answer with (their inner series stay open: `shoprec.experiments`
adds figures without an API change)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class VariantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    bundle: str | None = Field(None, max_length=4096, description="a bundle folder on the "
                                                                  "server; null: the serving one")
    weight: float = Field(1.0, gt=0, le=1000)


class ExperimentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field("", max_length=200)
    variants: list[VariantIn] = Field(min_length=2, max_length=10)
    ramp: float = Field(1.0, gt=0, le=1, description="share of shoppers in the experiment")
    min_detectable_lift: float = Field(0.10, gt=0, le=10)
    exposures_per_variant: int | None = Field(None, ge=1, description="fixed horizon; default: "
                                                                      "from the detectable lift")


class RampIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ramp: float = Field(gt=0, le=1)


class PromoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    variant: str | None = Field(None, description="default: the winner the stopping rule chose")


class ExperimentOut(BaseModel):
    """An experiment as its file holds it."""

    model_config = ConfigDict(extra="allow")
    id: str
    name: str
    variants: list[dict[str, Any]]
    salt: str
    ramp: float
    state: str
    started: float
    stopped: float | None = None
    winner: str | None = None
    promoted_generation: int | None = None
    stopping: dict[str, Any]


class ReadoutOut(BaseModel):
    """Per variant CTR, add-to-cart, conversion, revenue with intervals, lift over the control,
    SRM, guardrails, the stopping rule's decision and the series the charts draw."""

    model_config = ConfigDict(extra="allow")
    experiment: ExperimentOut
    control: Any = None
    variants: list[dict[str, Any]]
    srm: dict[str, Any]
    guardrails: list[dict[str, Any]]
    stopping: dict[str, Any]
    series: Any = None


class ExperimentsOut(BaseModel):
    running: ReadoutOut | None = Field(description="null when no experiment runs")
    finished: list[ExperimentOut]


class PromotedOut(BaseModel):
    experiment: ExperimentOut
    generation: int = Field(description="the generation the promoted variant serves as")


class OverviewOut(BaseModel):
    """What the dashboard draws: the serving bundle, its generations, the last retrains and
    traffic per minute (from the exposure log: every worker's lists)."""

    model_config = ConfigDict(extra="allow")
    serving: dict[str, Any]
    experiment: str | None
    generations: list[dict[str, Any]]
    retrains: list[dict[str, Any]]
    traffic: list[dict[str, Any]]
    exposures_logged: bool
