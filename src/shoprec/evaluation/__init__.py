"""Offline evaluation: metrics over a full ranking, the grid search per model (`protocol`), the
search over the model family within a time budget (`auto`), and reports with charts.

Each name is loaded on first use, so `import shoprec.evaluation.metrics` never loads matplotlib.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shoprec.evaluation.auto import evaluate_auto, select_model
    from shoprec.evaluation.metrics import evaluate
    from shoprec.evaluation.protocol import run_evaluation
    from shoprec.evaluation.report import write_report
    from shoprec.evaluation.result import EvaluationResult

#: where each public name lives
_HOMES = {
    "EvaluationResult": "result", "evaluate": "metrics", "evaluate_auto": "auto",
    "run_evaluation": "protocol", "select_model": "auto", "write_report": "report",
}
__all__ = [
    "EvaluationResult", "evaluate", "evaluate_auto", "run_evaluation", "select_model",
    "write_report",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    globals()[name] = value  # found once, then an ordinary attribute
    return value
