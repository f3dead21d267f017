"""The linear MMSE (Wiener) estimator of a clean image from its noisy copy, fitted on training
images: the strongest linear denoiser, and a baseline that learns from the DAE's own data (Q3).

    x_hat = mean_x + C_xz C_zz^-1 (z - mean_z)

Its moments follow in closed form from the clean training images and a noise model, so it
needs no noise draws and has nothing to tune:
  blind: the textbook Wiener filter, noise taken as additive, zero mean, variance sigma^2:
    mean_z = mean_x, C_xz = C_xx, C_zz = C_xx + sigma^2 I.
  clipping-aware: noise.add_white_noise's model z = clip(y + sigma e, -1, 1). Given the clean
    image y its pixels are independent, with mean f(y) and variance v(y) (analyses/clipping.py),
    so mean_z = E[f(Y)], C_xz = Cov(Y, f(Y)) and C_zz = Cov(f(Y)) + diag(E[v(Y)]).
The aware estimator is what a linear DAE (one affine map, no bottleneck) trained on these images
converges to when every epoch draws new noise: the expected MSE it minimises is quadratic in the
map, and these are its exact moments.
"""

import numpy as np

from analyses import clipping

NAME = "Wiener (linear MMSE)"  # its rows in the denoiser comparison, like a filter's


def fit(clean, sigma, aware, rank=None):
    """(mean_z, mean_x, W) of the linear MMSE estimator from clean images (N, 784); with `rank`,
    the best map of that rank (reduced-rank regression: W projected onto the top `rank`
    eigenvectors of its estimates' covariance W C_zz W^T), as a network whose narrowest layer
    has `rank` units could at most represent."""
    x = np.asarray(clean, np.float64).reshape(len(clean), -1)
    mean_x = x.mean(axis=0)
    centred = x - mean_x
    if aware:
        f = clipping.clipped_mean(x, sigma)
        mean_z = f.mean(axis=0)
        f_centred = f - mean_z
        c_xz = centred.T @ f_centred / len(x)
        c_zz = f_centred.T @ f_centred / len(x) + np.diag(
            clipping.clipped_variance(x, sigma).mean(axis=0))
    else:
        mean_z, c_xz = mean_x, centred.T @ centred / len(x)
        c_zz = c_xz + sigma ** 2 * np.eye(x.shape[1])
    # W = C_xz C_zz^-1; C_zz is symmetric, so solve C_zz W^T = C_xz^T
    w = np.linalg.solve(c_zz, c_xz.T).T
    if rank is not None:
        _, vectors = np.linalg.eigh(w @ c_zz @ w.T)  # ascending eigenvalues
        top = vectors[:, ::-1][:, :rank]
        w = top @ (top.T @ w)
    return mean_z, mean_x, w


def estimate(model, noisy):
    """The estimates of noisy images (N, ...) in their shape."""
    mean_z, mean_x, w = model
    z = np.asarray(noisy, np.float64).reshape(len(noisy), -1)
    return ((z - mean_z) @ w.T + mean_x).reshape(np.shape(noisy))
