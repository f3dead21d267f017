"""The variance-stabilising pipeline (analyses/stabiliser.py, run by analyses/vst.py) against
sampled clipped noise."""

import numpy as np
import pytest
import torch

from analyses import clipping, stabiliser as vst
from noise import add_white_noise

Y = (-1.0, -0.8, -0.4, 0.0, 0.5, 0.9, 1.0)


@pytest.mark.parametrize("sigma", [0.3, 0.5])
def test_the_transform_evens_out_the_noise_sd_and_is_inverted_without_bias(sigma):
    z, g, y, h = tables = vst.stabiliser(sigma)
    e = np.random.default_rng(0).standard_normal(1_000_000)
    raw, stabilised = [], []
    for value in Y:
        noisy = np.clip(value + sigma * e, -1, 1)
        transformed = np.interp(noisy, z, g)
        raw.append(noisy.std())
        stabilised.append(transformed.std())
        # h^-1 of the transformed mean gives back the clean value (the exact unbiased inverse)
        assert np.interp(transformed.mean(), h, y) == pytest.approx(value, abs=3e-3), value
    assert max(stabilised) / min(stabilised) < 0.9 * max(raw) / min(raw)
    # stabilised_sd is the same sd in closed form (quadrature), on the whole grid
    sd = vst.stabilised_sd(sigma, tables)
    assert np.interp(Y, y, sd) == pytest.approx(stabilised, abs=3e-3)
    assert np.all(np.diff(h) > 0) and np.all(np.diff(g) > 0)
    assert np.sqrt(clipping.clipped_variance(-1.0, sigma)) == pytest.approx(raw[0], abs=2e-3)


def test_a_smoothing_filter_through_the_stabiliser_restores_a_blank_background():
    # As the clipping-aware Gaussian in test_clipping: the noisy background averages -0.80;
    # through g, a smoothing filter and h^-1 it comes back to -1.
    blank = torch.full((2, 112 * 112), -1.0)
    noisy = add_white_noise(blank, 0.5, torch.Generator().manual_seed(0)).numpy().reshape(
        -1, 112, 112).astype(np.float64)
    out = vst.denoise("Gaussian", noisy, 0.5, {"std": 4.0}, vst.stabiliser(0.5))
    assert noisy.mean() == pytest.approx(-0.80, abs=0.01)
    assert out.mean() == pytest.approx(-1.0, abs=0.02) and out.min() >= -1.0
