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


def stabiliser(sigma):
    """(z grid, g on it, y grid, h on it) for clipped noise of level sigma: g(z) on [-1, 1] as
    above, and h(y) = E[g(clip(y + sigma e, -1, 1))], increasing, for its inverse."""
    y = np.linspace(-1, 1, GRID)
    mean, sd = clipping.clipped_mean(y, sigma), np.sqrt(clipping.clipped_variance(y, sigma))
    z = np.linspace(-1, 1, GRID)
    # the sd at the clean value of mean z; held at its end values outside f's range (a noisy
    # pixel can lie beyond f(-1) or f(1), the clean values cannot)
    sd_z = np.interp(z, mean, sd)
    g = sigma * np.concatenate([[0.0], np.cumsum((1 / sd_z[1:] + 1 / sd_z[:-1]) / 2
                                                  * np.diff(z))])
    weights = np.exp(-NORMAL ** 2 / 2)
    weights /= weights.sum()
    noisy = np.clip(y[:, None] + sigma * NORMAL[None, :], -1, 1)
    h = np.interp(noisy, z, g) @ weights
    return z, g, y, h


def stabilised_sd(sigma, tables):
    """The sd of g(z) at each clean value y of the grid: about sigma if g stabilises."""
    z, g, y, h = tables
    weights = np.exp(-NORMAL ** 2 / 2)
    weights /= weights.sum()
    values = np.interp(np.clip(y[:, None] + sigma * NORMAL[None, :], -1, 1), z, g)
    return np.sqrt(np.maximum(values ** 2 @ weights - h ** 2, 0))


def denoise(name, noisy, sigma, values, tables, pool=None):
    """Filter `name` with these values through the stabiliser: h^-1(filter(g(noisy)))."""
    z, g, y, h = tables
    filtered = apply(name, np.interp(noisy, z, g), sigma, values, pool)
    return np.interp(filtered, h, y)  # beyond h's range: the nearer bound of [-1, 1]
