"""ex09.py with its network changed, beyond the sheet: the same options, training, figures and
metrics (ex09.run), into <out-dir>/variants/VARIANT/seedN/MODE/ (a denoiser trained at another
noise level than the sheet's in VARIANT-sigmaS/).

    python -m analyses variant linear-code --seed 1              # the code h without its ReLU
    python -m analyses variant width16 --mode denoise --seed 1   # narrow layers widened to 16
    python -m analyses variant mirrored --mode plain --seed 2    # decoder 8-16-32-64-128-784
    python -m analyses variant sheet --mode denoise --noise-std 0.2 --seed 1

The variants: sheet (the sheet's network, for the noise sweep), mirrored (the decoder
8-16-32-64-128-784, the encoder mirrored, where the sheet prints 8-8-32), linear-code (ReLU units can
die: does the code keep more of them without its ReLU?) and widthW (the encoder
784-128-max(64,W)-max(32,W)-max(16,W)-W and the decoder W-W-max(32,W)-max(64,W)-128-784; width8
is the sheet's shape). python -m analyses denoisers and compare read these runs.
"""

import argparse
import re

from torch import nn

import ex09
from noise import DEFAULT_NOISE_STD


MAX_WIDTH = 4096  # 32 times the first layer; far wider would not fit in memory
MIN_WIDTH = 2  # a 1-number code has no 2-D t-SNE map (Q2e) to draw


def widened_autoencoder(width):
    """The sheet's network with its narrow layers widened to at least `width`."""
    model = ex09.AutoEncoder()
    encoder = (784, 128, max(64, width), max(32, width), max(16, width), width)
    decoder = (width, width, max(32, width), max(64, width), 128, 784)
    model.f.net = nn.Sequential(*ex09.linear_relu_stack(encoder))
    model.g.net = nn.Sequential(*ex09.linear_relu_stack(decoder)[:-1], nn.Tanh())
    return model


def mirrored_autoencoder():
    """The decoder as the encoder mirrored, 8-16-32-64-128-784, where the sheet prints 8-8-32:
    a reading of the sheet, not its letter (the default network keeps the letter)."""
    model = ex09.AutoEncoder()
    model.g.net = nn.Sequential(*ex09.linear_relu_stack((8, 16, 32, 64, 128, 784))[:-1],
                                nn.Tanh())
    return model


def linear_code_autoencoder():
    """The sheet's network without the ReLU on the code h (the same initial weights)."""
    model = ex09.AutoEncoder()
    model.f.net = model.f.net[:-1]
    return model


def variant_name(text):
    """An argparse type: sheet, mirrored, linear-code or widthW (MIN_WIDTH <= W <= MAX_WIDTH)."""
    if text in ("sheet", "mirrored", "linear-code") or (
            re.fullmatch(r"width[1-9][0-9]*", text) and MIN_WIDTH <= int(text[5:]) <= MAX_WIDTH):
        return text
    raise argparse.ArgumentTypeError(f"'sheet', 'mirrored', 'linear-code' or 'width<W>' "
                                     f"(W from {MIN_WIDTH} to {MAX_WIDTH}), got {text!r}")


def build_model(variant):
    """A function that makes the variant's network (after ex09.run has set the seed)."""
    if variant == "sheet":
        return ex09.AutoEncoder
    if variant == "linear-code":
        return linear_code_autoencoder
    if variant == "mirrored":
        return mirrored_autoencoder
    return lambda: widened_autoencoder(int(variant.removeprefix("width")))


def run_folder(variant, mode, seed, noise_std=DEFAULT_NOISE_STD):
    """Where a variant's run goes, relative to --out-dir."""
    # the value itself in the name: 0.2 and 0.2000001 are two folders, not one run replacing
    # the other (the short form where it is exact: sheet-sigma0.2, sheet-sigma1)
    text = f"{noise_std:g}" if float(f"{noise_std:g}") == noise_std else repr(float(noise_std))
    level = f"-sigma{text}" if mode == "denoise" and noise_std != DEFAULT_NOISE_STD else ""
    return f"variants/{variant}{level}/seed{seed}/{mode}"


def build_parser(parser):
    parser.add_argument("variant", type=variant_name,
                        help="sheet, mirrored, linear-code or widthW (see python -m analyses "
                             "--help)")
    ex09.build_parser(parser)


def run(args):
    folder = run_folder(args.variant, args.mode, args.seed, args.noise_std)
    args.out_dir = args.out_dir / folder.rsplit("/", 1)[0]  # ex09.run adds <mode>
    ex09.run(args, build_model(args.variant))
