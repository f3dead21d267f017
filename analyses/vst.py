"""Would the filters gain from the clipped noise's variance too? (Q3, beside the denoiser
comparison)

    python -m analyses vst       # writes figures/vst/; about 6 minutes on 2 cores
    # needs figures/denoisers/ (python -m analyses denoisers)

The clipping-aware filters of analyses/denoisers.py correct the clipped noise's mean only. Its
variance depends on the clean value too (clipping.clipped_variance: on the background, y = -1,
it is about a third of sigma^2); analyses/stabiliser.py evens it out as Foi (2009) does.
Non-local means and BM3D run through this pipeline, tuned by analyses/tuning.py over the same
parameters, starting from their clipping-aware choice, on the same held-out images; they are
scored on the same noisy test images as the comparison, image by image against their
clipping-aware pipeline (the mean PSNR difference with its 95 % interval over the images). The
clipping-aware pipeline is rerun here and checked against denoisers.json first.
"""

import json
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import torch

import ex09
import fashion_mnist
import publishing
from analyses import clipping
from analyses.denoiser_figures import plot_tuning
from analyses.denoisers import TUNE_NOISE_SEED
from analyses.filters import FILTERS, PIPELINES, apply
from analyses.measures import mean_psnr
from analyses.paired import TOLERANCE_DB as TEST_TOLERANCE_DB
from analyses.paired import paired, per_image_psnr, read_comparison
from analyses.stabiliser import denoise, stabilised_sd, stabiliser
from analyses.tuning import tune
from noise import DEFAULT_NOISE_STD, add_white_noise

METHODS = ("non-local means", "BM3D")  # the two leading filters
TOLERANCE_DB = 1e-6  # the aware pipeline rerun here against denoisers.json


def build_parser(parser):
    parser.add_argument("--out-dir", type=ex09.user_path, default=ex09.HERE / "figures",
                        help="reads <out-dir>/denoisers/denoisers.json; results go to "
                             "<out-dir>/vst/")
    parser.add_argument("--jobs", type=ex09.positive_int, default=2,
                        help="processes the filters' images are spread over")
    fashion_mnist.add_options(parser, ex09.positive_int, ex09.user_path)


def run(args):
    started = time.perf_counter()
    den = read_comparison(args.out_dir)
    sigma = DEFAULT_NOISE_STD
    x_train, _, x_test, _ = fashion_mnist.load(args)
    n_test = den["subset_images"]
    tune_clean = x_train[-den["tune_images"]:]
    noisy_tune = add_white_noise(tune_clean, sigma, torch.Generator().manual_seed(
        TUNE_NOISE_SEED)).numpy().reshape(-1, 28, 28).astype(np.float64)
    tune_clean = tune_clean.numpy().reshape(-1, 28, 28).astype(np.float64)
    noisy_test = add_white_noise(x_test, sigma, torch.Generator().manual_seed(
        den["test_noise_seed"]))[:n_test].numpy().reshape(-1, 28, 28).astype(np.float64)
    clean = x_test[:n_test].numpy().reshape(-1, 28, 28).astype(np.float64)
    tables = stabiliser(sigma)
    sd = stabilised_sd(sigma, tables)
    raw = np.sqrt(clipping.clipped_variance(tables[2], sigma))
    recorded = {s["method"]: s["subset"]["psnr_db"]["mean"] for s in den["summary"]
                if s["sigma"] == sigma}
    results, records = {}, {}
    pool = ProcessPoolExecutor(args.jobs) if args.jobs > 1 else None
    try:
        for name in METHODS:
            aware, = [t for t in den["tuning"] if t["sigma"] == sigma
                      and t["method"] == f"{name}, clipping-aware"]
            n = aware["tune_images"]
            again = mean_psnr(PIPELINES["clipping-aware"](apply(
                name, noisy_tune[:n], sigma, aware["chosen"], pool), sigma), tune_clean[:n])
            if abs(again - aware["tuned_psnr_db"]) > TOLERANCE_DB:
                raise ex09.UsageError(
                    f"{name}, clipping-aware: {again:.4f} dB on the tuning images here, "
                    f"{aware['tuned_psnr_db']:.4f} dB in denoisers.json: other images or noise; "
                    f"make it again with python -m analyses denoisers")
            t0 = time.perf_counter()
            print(f"tuning {name} through the stabiliser on {n} held-out training images",
                  flush=True)

            def score(values, name=name, n=n):
                return mean_psnr(denoise(name, noisy_tune[:n], sigma, values, tables, pool),
                                 tune_clean[:n])
            chosen, curves, best = tune(score, FILTERS[name][1],
                                        lambda text: print(text, flush=True),
                                        start=aware["chosen"])
            seconds = time.perf_counter() - t0
            test = {"clipping-aware": per_image_psnr(PIPELINES["clipping-aware"](apply(
                        name, noisy_test, sigma, aware["chosen"], pool), sigma), clean),
                    "stabilised": per_image_psnr(denoise(name, noisy_test, sigma, chosen,
                                                         tables, pool), clean)}
            if abs(test["clipping-aware"].mean()
                   - recorded[f"{name}, clipping-aware"]) > TEST_TOLERANCE_DB:
                raise ex09.UsageError(f"{name}: the test images here are not denoisers.json's")
            records[name] = {"filter": name, "sigma": sigma, "pipeline": "stabilised",
                             "method": f"{name}, stabilised", "parameters": curves,
                             "tuned_psnr_db": best}
            results[name] = {
                "tune_images": n, "aware_chosen": aware["chosen"],
                "aware_tuned_psnr_db": aware["tuned_psnr_db"], "chosen": chosen,
                "tuned_psnr_db": best, "tuning_seconds": round(seconds, 1),
                "at_grid_edge": [p for p, c in curves.items() if c["at_grid_edge"]],
                "test_psnr_db": {k: float(v.mean()) for k, v in test.items()},
                "stabilised_minus_aware": paired(test["stabilised"], test["clipping-aware"])}
            d = results[name]["stabilised_minus_aware"]
            print(f"{name}: held-out {best:.3f} dB stabilised, {aware['tuned_psnr_db']:.3f} "
                  f"aware; test difference {d['mean']:+.3f} dB [{d['ci95'][0]:+.3f}, "
                  f"{d['ci95'][1]:+.3f}] ({seconds:.0f} s tuning)", flush=True)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    with publishing.staged(args.out_dir / "vst") as stage:
        plot_tuning(records, stage / "tuning.png", {"stabilised": "-"})
        (stage / "vst.json").write_text(json.dumps({
            "sigma": sigma, "test_images": n_test, "test_noise_seed": den["test_noise_seed"],
            "tune_noise_seed": TUNE_NOISE_SEED,
            # how well g stabilises: the sd of g(z) over the clean values, against sigma
            "stabilised_sd": {"min": float(sd.min()), "max": float(sd.max()),
                              "at_background": float(sd[0])},
            "raw_sd": {k: float(f(raw)) for k, f in (("min", np.min), ("max", np.max))},
            "methods": results, "wall_seconds": round(time.perf_counter() - started, 1)},
            indent=1) + "\n")
    print(f"written to {args.out_dir / 'vst'}")
