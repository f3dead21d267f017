"""BM3D with its blocks fitted to 28x28 images (Q3, beside the denoiser comparison)

    python -m analyses bm3d-blocks   # writes figures/bm3d_blocks/; about 15 minutes on 2 cores
    # needs figures/denoisers/ (python -m analyses denoisers); pairs the widened DAE trained
    # longer too where figures/dae_longer/ exists

The denoiser comparison tunes BM3D's noise level and profile only; its block matching keeps the
library's blocks of 8x8 pixels, one reference block every 3 pixels, made for images of hundreds
of pixels a side. Here BM3D's block size and step (both stages alike, the first stage's 2-D
transform the DCT, the only one the library has for every block size) are tuned with its
noise level by analyses/tuning.py, on noisy copies of the first --tune-images of the held-out
training images (denoisers.json's images and noise draw), blind and clipping-aware as there,
each search starting from the comparison's choice. The chosen settings are scored on the
comparison's noisy test images and paired image by image (analyses/paired.py's 95 % t
interval over the images) with the library's blocks, the clipping-aware Wiener estimator and
the widened DAE trained longer. The library's blocks are scored here too, on the same tuning
images, and checked against denoisers.json on the test images.
"""

import json
import time
from concurrent.futures import ProcessPoolExecutor


import ex09
import fashion_mnist
import publishing
from analyses import linear
from analyses.denoiser_figures import plot_tuning, redraw_tuning
from analyses.denoisers import TUNE_NOISE_SEED
from analyses.filters import FILTERS, PIPELINES, apply
from analyses.measures import mean_psnr, scores
from analyses.paired import (TOLERANCE_DB, comparison_images, leads, per_image_psnr,
                             print_leads, read_comparison)
from analyses.tuning import Param, tune
from noise import DEFAULT_NOISE_STD

NAME = "BM3D"
PROFILE = "np"  # the profile the comparison chose at sigma 0.5 in both pipelines
# The block size stops at 2 (one pixel is no block) and at the image's 28; the step at 1.
PARAMS = (FILTERS[NAME][1][0],  # sigma_factor, the comparison's grid
          Param("block", (4, 5, 6, 7, 8), 8, step=1, low=2, high=28),
          Param("step", (1, 2, 3, 4), 3, step=1, low=1, high=28))
LIBRARY = {"block": None, "step": None}  # the profile's own blocks (8, step 3, bior1.5)


def build_parser(parser):
    parser.add_argument("--out-dir", type=ex09.user_path, default=ex09.HERE / "figures",
                        help="reads <out-dir>/denoisers/denoisers.json; results go to "
                             "<out-dir>/bm3d_blocks/")
    parser.add_argument("--tune-images", type=ex09.positive_int, default=300,
                        help="the first N of denoisers.json's held-out tuning images tune "
                             "BM3D here (there: its first 100)")
    parser.add_argument("--jobs", type=ex09.positive_int, default=2,
                        help="processes the images are spread over")
    parser.add_argument("--redraw", action="store_true",
                        help="tune nothing: draw tuning.png again from bm3d_blocks.json")
    fashion_mnist.add_options(parser, ex09.positive_int, ex09.user_path)


def run(args):
    if args.redraw:
        return redraw_tuning(args.out_dir / "bm3d_blocks", "bm3d-blocks", f"{NAME}, blocks tuned")
    started = time.perf_counter()
    den = read_comparison(args.out_dir)
    sigma, n = DEFAULT_NOISE_STD, args.tune_images
    fit, tune_clean, noisy_tune, clean, noisy_test = comparison_images(args, den, n)
    n_test = len(clean)
    recorded = {s["method"]: s["subset"]["psnr_db"]["mean"] for s in den["summary"]
                if s["sigma"] == sigma}
    pool = ProcessPoolExecutor(args.jobs) if args.jobs > 1 else None
    cache, records, results, psnr = {}, {}, {}, {}

    def filtered(values, images=noisy_tune):
        key = (id(images), tuple(values.items()))
        if key not in cache:  # both pipelines score the same filter outputs
            cache[key] = apply(NAME, images, sigma, {"profile": PROFILE, **values}, pool)
        return cache[key]
    try:
        for pipeline, finish in PIPELINES.items():
            method = NAME if pipeline == "blind" else f"{NAME}, {pipeline}"
            there, = [t for t in den["tuning"] if t["sigma"] == sigma and t["method"] == method]
            if there["chosen"]["profile"] != PROFILE:
                raise ex09.UsageError(f"{method}: denoisers.json chose the profile "
                                      f"{there['chosen']['profile']}, not {PROFILE}")
            library = {"sigma_factor": there["chosen"]["sigma_factor"], **LIBRARY}
            start = results.get("blind", {}).get("chosen") or {
                "sigma_factor": library["sigma_factor"], "block": 8, "step": 3}
            t0 = time.perf_counter()
            print(f"tuning {NAME}'s blocks, {pipeline}, on {n} held-out training images",
                  flush=True)
            chosen, curves, best = tune(
                lambda values, finish=finish: mean_psnr(finish(filtered(values), sigma),
                                                        tune_clean),
                PARAMS, lambda text: print(text, flush=True), start=start)
            seconds = time.perf_counter() - t0
            library_tuned = mean_psnr(finish(filtered(library), sigma), tune_clean)
            estimate = finish(filtered(chosen, noisy_test), sigma)
            library_test = finish(filtered(library, noisy_test), sigma)
            if abs(mean_psnr(library_test, clean) - recorded[method]) > TOLERANCE_DB:
                raise ex09.UsageError(f"{method}: the test images here are not "
                                      f"denoisers.json's; make it again with python -m "
                                      f"analyses denoisers")
            psnr[method] = per_image_psnr(library_test, clean)
            psnr[f"{method}, blocks tuned"] = per_image_psnr(estimate, clean)
            records[pipeline] = {"filter": f"{NAME}, blocks tuned", "sigma": sigma,
                                 "pipeline": pipeline, "parameters": curves,
                                 "tuned_psnr_db": best}
            results[pipeline] = {
                "method": f"{method}, blocks tuned", "chosen": chosen, "tuned_psnr_db": best,
                "parameters": curves, "library_blocks": library, "library_tuned_psnr_db": library_tuned,
                "tuning_seconds": round(seconds, 1),
                "at_grid_edge": [p for p, c in curves.items() if c["at_grid_edge"]],
                "test": scores(estimate, clean, pool),
                "library_test": scores(library_test, clean, pool)}
            print(f"  chosen {chosen}: {best:.3f} dB held-out (library blocks {library_tuned:.3f}"
                  f" dB), test {results[pipeline]['test']['psnr_db']:.3f} dB "
                  f"({seconds:.0f} s)", flush=True)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    wiener = f"{linear.NAME}, clipping-aware"
    estimator = linear.fit(fit, sigma, aware=True)
    psnr[wiener] = per_image_psnr(linear.estimate(estimator, noisy_test.reshape(
        -1, 784)).reshape(-1, 28, 28), clean)
    pairs, means = leads(f"{NAME}, clipping-aware, blocks tuned",
                         (f"{NAME}, clipping-aware", wiener), psnr, args.out_dir, den)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    with publishing.staged(args.out_dir / "bm3d_blocks") as stage:
        plot_tuning(records, stage / "tuning.png")
        (stage / "bm3d_blocks.json").write_text(json.dumps({
            "sigma": sigma, "profile": PROFILE, "tune_images": n,
            "tune_noise_seed": TUNE_NOISE_SEED, "test_images": n_test,
            "test_noise_seed": den["test_noise_seed"], "pipelines": results, **means,
            "pairs": pairs, "jobs": args.jobs,
            "wall_seconds": round(time.perf_counter() - started, 1)}, indent=1) + "\n")
    print_leads(pairs)
    print(f"written to {args.out_dir / 'bm3d_blocks'}")
