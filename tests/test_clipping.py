"""The clipped-noise model (analyses/clipping.py) against sampling, and what it does for a filter:
the known answers of issue 26."""

import numpy as np
import pytest
import torch

from analyses import clipping, filters, tuning
from noise import add_white_noise

Y = (-1.0, -0.9, -0.5, 0.0, 0.3, 0.8, 1.0)


@pytest.mark.parametrize("sigma", [0.2, 0.5, 1.0])
def test_clipped_mean_is_the_mean_of_clipped_noise(sigma):
    # 4e6 draws: the sampling error of the mean is at most 1 / 2000 (noise sd <= 1).
    e = np.random.default_rng(0).standard_normal(4_000_000)
    for y in Y:
        sampled = np.clip(y + sigma * e, -1, 1).mean()
        assert clipping.clipped_mean(y, sigma) == pytest.approx(sampled, abs=1e-3), y


@pytest.mark.parametrize("sigma", [0.2, 0.5, 1.0])
def test_clipped_variance_is_the_variance_of_clipped_noise(sigma):
    # 4e6 draws: the sampling error of a variance <= 1 is below 1e-3.
    e = np.random.default_rng(2).standard_normal(4_000_000)
    for y in Y:
        sampled = np.clip(y + sigma * e, -1, 1).var()
        assert clipping.clipped_variance(y, sigma) == pytest.approx(sampled, abs=2e-3), y
    assert clipping.clipped_variance(0.3, 0.0) == 0.0


def test_clipped_mean_on_the_background_and_with_other_bounds():
    # f(-1) = -1 + sigma phi(0) = -1 + 0.3989 sigma: the bias the filters kept.
    assert clipping.clipped_mean(-1.0, 0.5) == pytest.approx(-1 + 0.5 / np.sqrt(2 * np.pi),
                                                             abs=1e-4)
    e = np.random.default_rng(1).standard_normal(4_000_000)
    assert clipping.clipped_mean(0.1, 0.3, 0.0, 1.0) == pytest.approx(
        np.clip(0.1 + 0.3 * e, 0, 1).mean(), abs=1e-3)


@pytest.mark.parametrize("sigma", [0.2, 0.5, 1.0])
def test_debias_inverts_the_clipped_mean_on_the_whole_range(sigma):
    y = np.linspace(-1, 1, 20001)
    assert np.max(np.abs(clipping.debias(clipping.clipped_mean(y, sigma), sigma) - y)) < 1e-6


def test_debias_clips_values_outside_the_range_of_f():
    # f's range at sigma 0.5 is [-0.80, 0.80]; a filter's output can fall outside it.
    out = clipping.debias(np.array([-1.0, -0.85, -3.0, 0.9, 7.0]), 0.5)
    assert not np.isnan(out).any()
    assert out.tolist() == [-1.0, -1.0, -1.0, 1.0, 1.0]


def test_the_clipping_aware_gaussian_restores_a_blank_background():
    # A blank background (all -1): its noisy copy averages -0.80; the Gaussian filter keeps that,
    # its clipping-aware version brings it back to -1. (Within 0.02 once the filter's output
    # varies little: f^-1 maps what is left of the noise below f(-1) to -1 and above it up, so
    # lighter smoothing, as on a 28 x 28 image, leaves the mean a little above -1.)
    blank = torch.full((4, 112 * 112), -1.0)
    noisy = add_white_noise(blank, 0.5, torch.Generator().manual_seed(0)).numpy().reshape(
        -1, 112, 112).astype(np.float64)
    blind = filters.apply("Gaussian", noisy, 0.5, {"std": 4.0})
    aware = filters.PIPELINES["clipping-aware"](blind, 0.5)
    assert blind.mean() == pytest.approx(-0.80, abs=0.02)
    assert aware.mean() == pytest.approx(-1.0, abs=0.02)
    assert filters.PIPELINES["blind"](blind, 0.5) is blind


def test_a_search_started_elsewhere_still_finds_the_best_value():
    # The clipping-aware search starts at the blind one's result (shared filter outputs).
    param = tuning.Param("x", (1, 2, 3, 4, 5, 6), 1, step=1, low=1, high=6)
    calls = []

    def score(values):
        calls.append(values["x"])
        return -(values["x"] - 4) ** 2
    chosen, curves, best = tuning.tune(score, (param,), start={"x": 5})
    assert chosen == {"x": 4} and best == 0 and curves["x"]["grid"] == [1, 2, 3, 4, 5, 6]
