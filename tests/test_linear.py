"""The Wiener (linear MMSE) estimator of analyses/linear.py against the one fitted on sampled
noisy copies, and its known answers."""

import numpy as np
import pytest
import torch

from analyses import linear
from noise import add_white_noise


def clean_images(n=400, pixels=5, seed=0):
    """Correlated pixels in [-1, 1], many on the bound -1 like Fashion-MNIST's background."""
    rng = np.random.default_rng(seed)
    latent = rng.standard_normal((n, 2))
    mixing = rng.standard_normal((2, pixels))
    return np.clip(np.tanh(latent @ mixing) - 0.6, -1, 1)


def sampled_fit(clean, sigma, draws):
    """The least-squares affine map from noisy copies (noise.add_white_noise, the DAE's) to
    their clean images: what the closed form should equal as the draws grow."""
    x = np.tile(clean, (draws, 1))
    z = add_white_noise(torch.from_numpy(x).float(), sigma,
                        torch.Generator().manual_seed(1)).numpy().astype(np.float64)
    zc, xc = z - z.mean(0), x - x.mean(0)
    w = np.linalg.solve(zc.T @ zc, zc.T @ xc).T
    return z.mean(0), x.mean(0), w


@pytest.mark.parametrize("sigma", [0.3, 0.8])
def test_the_clipping_aware_fit_is_the_limit_of_sampled_noise(sigma):
    clean = clean_images()
    mean_z, mean_x, w = linear.fit(clean, sigma, aware=True)
    sampled = sampled_fit(clean, sigma, draws=500)  # 200,000 pairs
    assert np.max(np.abs(mean_z - sampled[0])) < 0.01
    assert np.allclose(mean_x, sampled[1])
    assert np.max(np.abs(w - sampled[2])) < 0.03
    # the blind fit assumes zero-mean noise: its mean and map differ by more than sampling
    blind = linear.fit(clean, sigma, aware=False)
    assert np.allclose(blind[0], clean.mean(0))
    assert np.max(np.abs(blind[0] - sampled[0])) > 0.03
    assert np.max(np.abs(blind[2] - sampled[2])) > 2 * np.max(np.abs(w - sampled[2]))


def test_the_aware_fit_beats_the_blind_one_on_clipped_noise_and_keeps_the_shape():
    clean = clean_images(2000, seed=3)
    noisy = add_white_noise(torch.from_numpy(clean).float(), 0.5,
                            torch.Generator().manual_seed(4)).numpy()
    errors = {aware: np.mean((linear.estimate(linear.fit(clean, 0.5, aware), noisy) - clean) ** 2)
              for aware in (False, True)}
    assert errors[True] < 0.95 * errors[False]
    images = noisy.reshape(-1, 1, 5)
    assert linear.estimate(linear.fit(clean, 0.5, True), images).shape == images.shape


def test_without_noise_the_blind_estimator_returns_its_input():
    clean = clean_images()
    z = clean_images(10, seed=5)
    assert np.allclose(linear.estimate(linear.fit(clean, 1e-6, aware=False), z), z, atol=1e-4)


def test_a_rank_limited_fit_is_the_best_map_of_its_rank():
    clean = clean_images(3000, pixels=6, seed=6)
    noisy = add_white_noise(torch.from_numpy(clean).float(), 0.5,
                            torch.Generator().manual_seed(7)).numpy()

    def error(model):
        return np.mean((linear.estimate(model, noisy) - clean) ** 2)
    full = linear.fit(clean, 0.5, aware=True)
    assert np.allclose(linear.fit(clean, 0.5, aware=True, rank=6)[2], full[2])
    errors = [error(linear.fit(clean, 0.5, aware=True, rank=r)) for r in (1, 2, 6)]
    assert errors == sorted(errors, reverse=True) and errors[0] > errors[2] * 1.05
    assert np.linalg.matrix_rank(linear.fit(clean, 0.5, aware=True, rank=2)[2]) == 2
    # another map of rank 2: the full one projected onto the clean images' top 2 components
    centred = clean - clean.mean(0)
    top = np.linalg.eigh(centred.T @ centred)[1][:, ::-1][:, :2]
    projected = (full[0], full[1], top @ top.T @ full[2])
    assert errors[1] <= error(projected) + 1e-4
