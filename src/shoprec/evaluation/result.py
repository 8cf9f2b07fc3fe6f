"""What one evaluation run reports: the chosen parameters, validation and test metrics, timings.

Its own module so the grid search (`protocol`) and the model-family search (`auto`) both return
it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class EvaluationResult:
    dataset: str
    model: str
    protocol: str
    users: int
    items: int
    params: dict[str, Any]
    metrics: dict[str, float]
    valid_metrics: dict[str, float]
    train_seconds: float
    eval_seconds: float
    tried: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset, "model": self.model, "protocol": self.protocol,
            "users": self.users, "items": self.items, "params": self.params,
            "metrics": self.metrics, "valid_metrics": self.valid_metrics,
            "train_seconds": round(self.train_seconds, 3),
            "eval_seconds": round(self.eval_seconds, 3), "tried": self.tried,
        }
