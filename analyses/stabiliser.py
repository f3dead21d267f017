"""Foi's variance-stabilising pipeline for clipped noise (Foi, "Clipped noisy images:
heteroskedastic modeling and practical denoising", Signal Processing 89(12), 2009), for a filter
built for noise of one sd:
  g, a variance-stabilising transform: g' = sigma / sd(z), where sd(z) is the noise's sd at the
     clean value whose clipped mean is z (analyses/clipping.py), so g(z) has about the noise sd
     sigma at every clean value;
  the filter runs on g(z), told that sd;
  the exact unbiased inverse maps back: y_hat = h^-1(filter(g(z))), h(y) = E[g(z) | y].
analyses/vst.py tunes and scores non-local means and BM3D through it; analyses/paired.py pairs
them with the networks.
"""

import numpy as np

from analyses import clipping
from analyses.filters import apply

GRID = 4001  # points on [-1, 1] that g and h^-1 interpolate between
NORMAL = np.linspace(-8, 8, 4001)  # the noise e for E[g(z) | y], by the trapezoid rule
WEIGHTS = np.exp(-NORMAL ** 2 / 2) / np.exp(-NORMAL ** 2 / 2).sum()


def stabiliser(sigma):
    """(z grid, g on it, y grid, h on it) for clipped noise of level sigma: g(z) on [-1, 1] as
    above, and h(y) = E[g(clip(y + sigma e, -1, 1))], increasing, for its inverse."""
    y = z = np.linspace(-1, 1, GRID)  # clean values and noisy ones: the same range
    mean, sd = clipping.clipped_mean(y, sigma), np.sqrt(clipping.clipped_variance(y, sigma))
    # the sd at the clean value of mean z; held at its end values outside f's range (a noisy
    # pixel can lie beyond f(-1) or f(1), the clean values cannot)
    sd_z = np.interp(z, mean, sd)
    g = sigma * np.concatenate([[0.0], np.cumsum((1 / sd_z[1:] + 1 / sd_z[:-1]) / 2
                                                  * np.diff(z))])
    h = _transformed(sigma, z, g, y) @ WEIGHTS
    return z, g, y, h


def _transformed(sigma, z, g, y):
    """g(clip(y + sigma e, -1, 1)) for each clean value y (rows) and noise e of NORMAL."""
    return np.interp(np.clip(y[:, None] + sigma * NORMAL[None, :], -1, 1), z, g)


def stabilised_sd(sigma, tables):
    """The sd of g(z) at each clean value y of the grid: about sigma if g stabilises."""
    z, g, y, h = tables
    return np.sqrt(np.maximum(_transformed(sigma, z, g, y) ** 2 @ WEIGHTS - h ** 2, 0))


def denoise(name, noisy, sigma, values, tables, pool=None):
    """Filter `name` with these values through the stabiliser: h^-1(filter(g(noisy)))."""
    z, g, y, h = tables
    filtered = apply(name, np.interp(noisy, z, g), sigma, values, pool)
    return np.interp(filtered, h, y)  # beyond h's range: the nearer bound of [-1, 1]
