"""The readout's statistics against values computed by hand or published."""

from __future__ import annotations

import math

import pytest

from shoprec.experiments import stats


def test_wilson_interval_matches_the_formula() -> None:
    # Wilson (1927): centre (x + z^2/2) / (n + z^2), half-width z sqrt(x(n-x)/n + z^2/4)/(n+z^2)
    x, n, z = 50, 1000, 1.959963984540054
    centre = (x + z * z / 2) / (n + z * z)
    half = z * math.sqrt(x * (n - x) / n + z * z / 4) / (n + z * z)
    got = stats.rate_interval(x, n)
    assert got["rate"] == 0.05
    assert got["low"] == pytest.approx(centre - half, abs=1e-9)
    assert got["high"] == pytest.approx(centre + half, abs=1e-9)
    zero = stats.rate_interval(0, 10)
    assert zero["low"] == 0 and zero["high"] == pytest.approx(0.2775, abs=1e-4)
    assert stats.rate_interval(0, 0)["rate"] is None


def test_srm_is_chi_square_against_the_split() -> None:
    assert stats.srm_pvalue([500, 500], [1, 1]) == pytest.approx(1.0)
    # (550-500)^2/500 * 2 = 10 on one degree of freedom: p = 0.001565
    assert stats.srm_pvalue([550, 450], [1, 1]) == pytest.approx(0.0015654, abs=1e-6)
    assert stats.srm_pvalue([900, 100], [9, 1]) == pytest.approx(1.0)
    assert stats.srm_pvalue([0, 0], [1, 1]) is None


def test_lift_and_its_interval() -> None:
    got = stats.lift(60, 1000, 50, 1000)
    assert got["lift"] == pytest.approx(0.2)
    assert got["low"] < 0 < got["high"]  # not significant at this size
    assert 0.2 < got["p_value"] < 0.5
    big = stats.lift(6000, 100_000, 5000, 100_000)
    assert big["low"] > 0.1 and big["p_value"] < 1e-10
    # log-ratio interval: exp(log(1.2) +- z * sqrt(1/x1 - 1/n1 + 1/x0 - 1/n0)) - 1
    se = math.sqrt(1 / 6000 - 1 / 100_000 + 1 / 5000 - 1 / 100_000)
    assert big["low"] == pytest.approx(1.2 * math.exp(-1.959964 * se) - 1, abs=2e-3)
    assert stats.lift(5, 100, 0, 100)["lift"] is None


def test_fixed_horizon_sample_size() -> None:
    # Cohen's h for 5.5% vs 5%: 2 asin(sqrt(.055)) - 2 asin(sqrt(.05)); per group
    # n = 2 ((z_a/2 + z_b) / h)^2 (Cohen 1988: h = 0.2 needs 392 per group at .05 and .80)
    h = 2 * math.asin(math.sqrt(0.055)) - 2 * math.asin(math.sqrt(0.05))
    expected = 2 * ((1.959964 + 0.841621) / h) ** 2
    assert stats.required_exposures(0.05, 0.10) == math.ceil(expected)
    assert stats.required_exposures(0.0, 0.10) is None


def test_revenue_mean_interval() -> None:
    got = stats.mean_interval([0, 0, 10, 0, 5])
    assert got["mean"] == 3.0
    assert got["low"] == pytest.approx(3.0 - 2.776445 * math.sqrt(20 / 5), abs=1e-5)
