"""The noise model of Q3a in closed form, for classical filters that should know it.

noise.add_white_noise gives z = clip(y + sigma * e, -1, 1) with e ~ N(0, 1). The clipping makes
the noise's mean depend on the clean value y: E[z | y] = f(y), not y. On the background
(y = -1, about half of every Fashion-MNIST image) f(-1) = -1 + sigma * 0.399, so at sigma 0.5
the noisy background averages -0.80. A filter built for zero-mean noise estimates a local mean
of z, that is f(y); inverting f turns it into an estimate of y (Foi, "Clipped noisy images:
heteroskedastic modeling and practical denoising", Signal Processing 89(12), 2009):

    y_hat = f^-1(filter(z))

The DAE learns this from its (noisy, clean) training pairs; the filters get it from here.
"""

import numpy as np
from scipy.special import ndtr  # the standard normal cdf

INVERSE_GRID = 8193  # points of y on [low, high] that f^-1 interpolates between


def _pdf(t):
    return np.exp(-0.5 * t * t) / np.sqrt(2 * np.pi)


def clipped_mean(y, sigma, low=-1.0, high=1.0):
    """f(y) = E[clip(y + sigma * e, low, high)], e ~ N(0, 1), elementwise.

    With a = (low - y) / sigma and b = (high - y) / sigma: the mass below low counts as low,
    the mass above high as high, and the unclipped part contributes y (Phi(b) - Phi(a)) plus
    sigma (phi(a) - phi(b)), the mean of a normal truncated to [a, b]."""
    y = np.asarray(y, np.float64)
    if sigma == 0:
        return np.clip(y, low, high)
    a, b = (low - y) / sigma, (high - y) / sigma
    below, inside = ndtr(a), ndtr(b) - ndtr(a)
    return (low * below + high * (1 - below - inside) + y * inside
            + sigma * (_pdf(a) - _pdf(b)))


def debias(m, sigma, low=-1.0, high=1.0):
    """f^-1(m): the clean value whose clipped-noise mean is m, elementwise, in [low, high].

    f is strictly increasing (f'(y) = Phi(b) - Phi(a) > 0), so its inverse is interpolated on a
    fine grid of y; a value outside f's range [f(low), f(high)] (a filter's output can land
    there) maps to the nearer bound instead of NaN."""
    m = np.asarray(m, np.float64)
    if sigma == 0:
        return np.clip(m, low, high)
    y = np.linspace(low, high, INVERSE_GRID)
    return np.interp(m, clipped_mean(y, sigma, low, high), y)


def clipped_variance(y, sigma, low=-1.0, high=1.0):
    """Var[clip(y + sigma * e, low, high)], e ~ N(0, 1), elementwise: the second moment, from
    the same three parts as clipped_mean (the unclipped part's E[e^2] over [a, b] is
    Phi(b) - Phi(a) + a phi(a) - b phi(b)), minus the squared mean."""
    y = np.asarray(y, np.float64)
    if sigma == 0:
        return np.zeros_like(y)
    a, b = (low - y) / sigma, (high - y) / sigma
    below, inside = ndtr(a), ndtr(b) - ndtr(a)
    second = (low ** 2 * below + high ** 2 * (1 - below - inside) + y * y * inside
              + 2 * y * sigma * (_pdf(a) - _pdf(b))
              + sigma ** 2 * (inside + a * _pdf(a) - b * _pdf(b)))
    return np.maximum(second - clipped_mean(y, sigma, low, high) ** 2, 0.0)
