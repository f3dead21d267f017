"""python -m analyses NAME [options]: run one analysis beyond the sheet (see __init__.py)."""

import argparse
import importlib
import sys

import ex09
import publishing

# name -> (module, one line for --help). Modules are imported when chosen.
ANALYSES = {
    "compare": ("analyses.compare", "Q2e/Q3c: code quality, PCA-8 and raw-pixel baselines, "
                                    "denoising PSNR, side-by-side t-SNE (needs the plain and "
                                    "denoise runs)"),
    "q1": ("analyses.q1_gd_variants", "Q1: batch vs mini-batch vs stochastic gradient descent "
                                      "on a linear autoencoder with a known optimum"),
    "seeds": ("analyses.seeds", "Q2e/Q3c over seeds: every measure per seed and as mean, sd, "
                                "min-max, next to PCA-8; the DAE's codes of noisy images"),
    "denoisers": ("analyses.denoisers", "Q3: the DAE against tuned classical filters and PCA-k "
                                        "and BM3D (PSNR, SSIM), over seeds; noise and width sweeps"),
    "paired": ("analyses.paired", "Q3: the filters' leads over the DAE image by image: mean "
                                  "PSNR difference, its 95-percent interval over images, "
                                  "share ahead (needs the denoiser comparison)"),
    "vst": ("analyses.vst", "Q3: non-local means and BM3D through a variance-stabilising "
                            "transform for the clipped noise, retuned, against their "
                            "clipping-aware pipeline (needs the denoiser comparison)"),
    "bm3d-blocks": ("analyses.bm3d_blocks", "Q3: BM3D's block size and step tuned for 28x28 "
                                            "images with its noise level, against the library's "
                                            "blocks (needs the denoiser comparison)"),
    "patch-prior": ("analyses.patch_prior", "Q3: sparse coding over a dictionary learned from "
                                            "the training images' patches, tuned like the "
                                            "filters (needs the denoiser comparison)"),
    "leaders": ("analyses.leaders", "Q3: the learned dictionary against BM3D with tuned "
                                    "blocks, image by image (needs bm3d-blocks and "
                                    "patch-prior)"),
    "dae-tuning": ("analyses.dae_tuning", "Q3: the DAE tuned like the filters (learning rate, "
                                          "epochs) on the same held-out training images, then "
                                          "scored on the test images over seeds"),
    "width-choice": ("analyses.width_choice", "Q3: the width the held-out training images "
                                              "choose, each width trained at the sheet's "
                                              "settings (the test images play no part)"),
    "dae-longer": ("analyses.dae_longer", "Q3: the tuned widened DAE trained longer than the "
                                          "tuning's epoch grid, on held-out and test images, "
                                          "against the leading filters"),
    "wide-tuning": ("analyses.wide_tuning", "Q3: the held-out images' width (512) trained "
                                            "longer at three learning rates, chosen on the "
                                            "held-out images, test PSNR recorded"),
    "beta1": ("analyses.beta1", "Q2c: the other reading of 'momentum 1e-5', Adam's beta1 = "
                                "1e-5 without weight decay, beside the sheet's runs by seed"),
    "variant": ("analyses.variants", "ex09.py with another network: sheet, mirrored (decoder "
                                     "8-16-32-64-128), linear-code (no ReLU on the code) or "
                                     "widthW (narrow layers widened to W)"),
    "mirrored": ("analyses.mirrored", "The decoder as printed (8-8-32) against the mirrored one "
                                      "(8-16-32): dead starts, test MSE, 5-NN, denoising PSNR"),
    "revival": ("analyses.revival", "What revives seed 0's dead start: Adam with and without "
                                    "weight decay, SGD; which seeds start dead"),
}


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m analyses",
        description="Analyses beyond exercise sheet 9; each writes JSON, CSV and figures under "
                    "--out-dir (default figures/). 'python -m analyses NAME --help' lists "
                    "NAME's options.")
    commands = parser.add_subparsers(dest="name", required=True, metavar="NAME")
    for name, (module, summary) in ANALYSES.items():
        sub = commands.add_parser(name, help=summary, description=summary,
                                  formatter_class=argparse.ArgumentDefaultsHelpFormatter)
        sub.set_defaults(module=module)
        importlib.import_module(module).build_parser(sub)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    publishing.handle_signals()  # Ctrl+C and `kill`: clean up, publish nothing
    publishing.end_with_parent()  # started by tools/reproduce.py: stop when it dies
    try:
        importlib.import_module(args.module).run(args)
    except ex09.USER_ERRORS as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except OSError as err:  # a full disk, an unwritable folder
        print(f"error: {err.filename or ''}: {err.strerror or err}; nothing was published",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\ninterrupted: nothing was published; earlier results of {args.name} are "
              f"untouched", file=sys.stderr)
        return 130
    if publishing.interrupted():  # the stop came during the publish, which then finished
        print(f"interrupted: {args.name} had finished; its results are published whole",
              file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
