"""Q3a: the white-noise function."""

import pytest
import torch

from noise import add_white_noise


def test_noise_has_requested_mean_and_std_away_from_the_clip():
    x = torch.zeros(200_000)
    noisy = add_white_noise(x, 0.1, torch.Generator().manual_seed(0))
    # With std 0.1 around 0, clipping at +-1 (10 sigma) never happens.
    assert abs(float(noisy.mean())) < 0.002
    assert abs(float(noisy.std()) - 0.1) < 0.002


def test_output_is_clipped_to_the_image_range():
    x = torch.full((10_000,), 0.9)
    noisy = add_white_noise(x, 2.0, torch.Generator().manual_seed(0))
    assert float(noisy.max()) == 1.0 and float(noisy.min()) == -1.0
    assert bool(((noisy >= -1) & (noisy <= 1)).all())


def test_same_generator_seed_gives_same_noise_and_input_is_untouched():
    x = torch.rand(64, 784) * 2 - 1
    copy = x.clone()
    a = add_white_noise(x, 0.5, torch.Generator().manual_seed(3))
    b = add_white_noise(x, 0.5, torch.Generator().manual_seed(3))
    c = add_white_noise(x, 0.5, torch.Generator().manual_seed(4))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert torch.equal(x, copy)


def test_zero_std_returns_the_input_and_negative_std_is_refused():
    x = torch.rand(10) * 2 - 1
    assert torch.equal(add_white_noise(x, 0.0), x)
    with pytest.raises(ValueError):
        add_white_noise(x, -0.1)

