"""The statistics of an online readout, from statsmodels and scipy (nothing hand-rolled).

- A rate (CTR, add-to-cart, conversion per exposure): Wilson score interval
  (`statsmodels.stats.proportion.proportion_confint`, method "wilson"), right at small counts.
- Lift of a variant over the control: the relative difference p1/p0 - 1 with the interval of
  the ratio (`confint_proportions_2indep`, compare="ratio", method "log"), and the two-sided
  p-value of the difference (`test_proportions_2indep`, score test).
- Revenue per exposure: mean with a t interval (`DescrStatsW.tconfint_mean`).
- Sample-ratio mismatch: chi-square of the shoppers assigned to each variant against the
  configured split (`scipy.stats.chisquare`); p < 0.001 means the assignment or the logging is
  broken and the readout must not be trusted.
- Stopping rule (fixed horizon, decided before the experiment starts): every variant needs the
  exposures that detect `min_detectable_lift` on the control's rate with `alpha` (two-sided) and
  `power` (`NormalIndPower` on Cohen's h); the readout is "continue" until then, and only then
  is the p-value read, once. Peeking earlier inflates false positives; the dashboard shows the
  intervals meanwhile but the decision waits for the horizon.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

# scipy.stats and statsmodels are imported where a readout needs them: at module level they were
# ~1 s of every service worker's start (the experiments routes import this module), though only
# an experiment's readout uses them.

#: Below this SRM p-value the split is considered broken.
SRM_ALPHA = 0.001


def rate_interval(successes: int, n: int, alpha: float = 0.05) -> dict[str, float | None]:
    """The rate with its Wilson interval; None figures when nothing was exposed."""
    if n == 0:
        return {"rate": None, "low": None, "high": None, "successes": 0, "n": 0}
    from statsmodels.stats.proportion import proportion_confint

    low, high = proportion_confint(successes, n, alpha=alpha, method="wilson")
    return {"rate": successes / n, "low": float(low), "high": float(high),
            "successes": int(successes), "n": int(n)}


def mean_interval(values: Sequence[float], alpha: float = 0.05) -> dict[str, float | None]:
    """Mean with its t interval (revenue per exposure)."""
    x = np.asarray(values, dtype=np.float64)
    if len(x) < 2:
        return {"mean": float(x.mean()) if len(x) else None, "low": None, "high": None,
                "n": len(x)}
    if np.all(x == x[0]):
        return {"mean": float(x[0]), "low": float(x[0]), "high": float(x[0]), "n": len(x)}
    from statsmodels.stats.weightstats import DescrStatsW

    low, high = DescrStatsW(x).tconfint_mean(alpha=alpha)
    return {"mean": float(x.mean()), "low": float(low), "high": float(high), "n": len(x)}


def lift(successes: int, n: int, base_successes: int, base_n: int, alpha: float = 0.05
         ) -> dict[str, float | None]:
    """Relative lift of a rate over the control's, its interval and the p-value of the
    difference; None where a rate is undefined (no exposures, or a zero control rate)."""
    if min(n, base_n) == 0 or base_successes == 0:
        return {"lift": None, "low": None, "high": None, "p_value": None}
    from statsmodels.stats.proportion import confint_proportions_2indep, test_proportions_2indep

    p, p0 = successes / n, base_successes / base_n
    if successes == 0:
        low = high = None
    else:
        lo, hi = confint_proportions_2indep(successes, n, base_successes, base_n,
                                            method="log", compare="ratio", alpha=alpha)
        low, high = float(lo) - 1, float(hi) - 1
    test = test_proportions_2indep(successes, n, base_successes, base_n, method="score",
                                   compare="diff")
    return {"lift": p / p0 - 1, "low": low, "high": high, "p_value": float(test.pvalue)}


def srm_pvalue(counts: Sequence[int], weights: Sequence[float]) -> float | None:
    """p-value that the observed counts follow the configured split; None without data."""
    observed = np.asarray(counts, dtype=np.float64)
    if observed.sum() == 0 or len(observed) < 2:
        return None
    from scipy.stats import chisquare

    share = np.asarray(weights, dtype=np.float64) / float(np.sum(weights))
    return float(chisquare(observed, f_exp=share * observed.sum()).pvalue)


def required_exposures(base_rate: float, min_detectable_lift: float, alpha: float = 0.05,
                       power: float = 0.8) -> int | None:
    """Exposures per variant that detect a relative lift of the base rate (two-sided test)."""
    if not 0 < base_rate < 1 or min_detectable_lift <= 0:
        return None
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    target = min(base_rate * (1 + min_detectable_lift), 1 - 1e-9)
    effect = abs(proportion_effectsize(target, base_rate))
    n = NormalIndPower().solve_power(effect_size=effect, alpha=alpha, power=power, ratio=1.0,
                                     alternative="two-sided")
    return math.ceil(float(n))


def p95(values: Sequence[float]) -> float | None:
    return float(np.percentile(np.asarray(values, dtype=np.float64), 95)) if len(values) else None
