"""White (Gaussian) noise for the denoising autoencoder of exercise sheet 9, Q3a.

The images live in [-1, 1] (the range of the decoder's Tanh), so the noisy image is
clipped back into that range: the network never sees a pixel value that no clean image
could have, and the noise level stays comparable to the image contrast.
"""

import torch

# Default noise level on the [-1, 1] scale; equals 0.25 on the usual [0, 1] pixel scale.
DEFAULT_NOISE_STD = 0.5
# The one seed of the fixed noisy copy of the test set (Q3b figures, test losses, analyses):
# the same images for every training seed and every method, so results are comparable.
TEST_NOISE_SEED = 1


def add_white_noise(x: torch.Tensor, std: float = DEFAULT_NOISE_STD,
                    generator: torch.Generator | None = None) -> torch.Tensor:
    """Return x + N(0, std^2) noise, drawn independently per element, clipped to [-1, 1].

    x is not modified. Passing a seeded `generator` (on x's device) makes the noise
    reproducible; without one, torch's global generator is used.
    """
    if std < 0:
        raise ValueError(f"noise std must be >= 0, got {std}")
    noise = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
    return (x + std * noise).clamp_(-1.0, 1.0)
