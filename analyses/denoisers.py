"""Does the denoiser denoise better than what a user would pick instead? (Q3)

    python -m analyses denoisers     # writes figures/denoisers/
    # about 7 minutes on 2 CPU cores once its runs exist; about 8 more to train the 5 sweep
    # runs two at a time (a run made with other settings is never overwritten: refused)

On one fixed noisy copy of the whole test set per noise level (noise.add_white_noise from
noise.TEST_NOISE_SEED, the same for every method and seed), every method's output is compared
with the clean image: PSNR and SSIM as the mean over images of each image's value
(skimage.metrics, data_range 2 on [-1, 1]) and the MSE. The methods:
  classical filters (scipy, scikit-image): Gaussian, median, total variation (Chambolle),
  non-local means, wavelet (BayesShrink); each one's parameter tuned on noisy copies of
  --tune-images held-out TRAINING images (noise from TUNE_NOISE_SEED), never on the test set,
  over a grid whose best value must not be at its edge (else the run says so);
  PCA-k projection (fitted on the training set) for k = 8 ... 128;
  the plain autoencoder fed the noisy input, and the denoising autoencoder (every seed found);
  at sigma 0.2 and 1.0 a DAE trained at that level (seed --sweep-seed), and at sigma 0.5 DAEs
  whose narrow layers are widened to at least w (w = 8 is the sheet's network): runs of
  `python -m analyses variant` (under <out-dir>/variants/), trained --jobs at a time where they
  are missing, and the seed study's run at sigma 0.5 and w = 8.
"""

import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import ex09
import fashion_mnist
from analyses import compare, variants
from noise import DEFAULT_NOISE_STD, TEST_NOISE_SEED, add_white_noise

SIGMAS = (0.2, DEFAULT_NOISE_STD, 1.0)
WIDTHS = (8, 16, 32, 64)
TUNE_NOISE_SEED = TEST_NOISE_SEED + 1000  # the held-out training images' noise
PCA_KS = (8, 16, 32, 64, 128)


def _per_image(function):
    def apply(images, value, sigma):
        return np.stack([function(image, value, sigma) for image in images])
    return apply


def _gaussian(images, value, sigma):
    from scipy.ndimage import gaussian_filter
    return gaussian_filter(images, sigma=(0, value, value), mode="nearest")


def _median(images, value, sigma):
    from scipy.ndimage import median_filter
    return median_filter(images, size=(1, value, value), mode="nearest")


@_per_image
def _tv(image, value, sigma):
    from skimage.restoration import denoise_tv_chambolle
    return denoise_tv_chambolle(image, weight=value)


@_per_image
def _nl_means(image, value, sigma):
    from skimage.restoration import denoise_nl_means
    return denoise_nl_means(image, h=value * sigma, sigma=sigma, patch_size=5,
                            patch_distance=6, fast_mode=True)


@_per_image
def _wavelet(image, value, sigma):
    from skimage.restoration import denoise_wavelet
    # [-1, 1] -> [0, 1] and back: the function clips to [0, 1] or [-1, 1] depending on the input
    return denoise_wavelet(image, sigma=value * sigma, method="BayesShrink", mode="soft",
                           rescale_sigma=True)


# name -> (function(images (N, 28, 28), parameter, noise sigma), parameter name, grid)
FILTERS = {
    "Gaussian": (_gaussian, "std in pixels", (0.3, 0.5, 0.7, 1.0, 1.4, 2.0, 3.0)),
    "median": (_median, "window size", (2, 3, 4, 5, 7, 9)),
    "total variation": (_tv, "weight", (0.03, 0.06, 0.12, 0.25, 0.5, 1.0, 2.0)),
    "non-local means": (_nl_means, "h / sigma", (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4,
                                                  0.6, 0.8, 1.2)),
    "wavelet (BayesShrink)": (_wavelet, "sigma / true sigma", (0.25, 0.5, 0.75, 1.0, 1.5, 2.0,
                                                               3.0, 4.0)),
}


def build_parser(parser):
    parser.add_argument("--out-dir", type=ex09.user_path, default=ex09.HERE / "figures",
                        help="reads the runs under <out-dir>; results go to <out-dir>/denoisers/")
    parser.add_argument("--tune-images", type=ex09.positive_int, default=1000,
                        help="the last N training images, noised, tune each filter")
    parser.add_argument("--sweep-seed", type=ex09.seed_int, default=1,
                        help="seed of the noise- and width-sweep DAEs (seed 1 starts alive)")
    parser.add_argument("--epochs", type=ex09.positive_int, default=50,
                        help="epochs of each sweep DAE (the sheet's 50)")
    parser.add_argument("--tsne-samples", type=ex09.non_negative_int, default=500,
                        help="t-SNE sample of each sweep DAE's run (as the seed study's)")
    parser.add_argument("--jobs", type=ex09.positive_int, default=2,
                        help="sweep DAEs trained at a time (each with one thread when more)")
    parser.add_argument("--sigmas", type=ex09.positive_float, nargs="+", default=list(SIGMAS),
                        help="noise levels on the [-1, 1] scale")
    parser.add_argument("--widths", type=ex09.positive_int, nargs="+", default=list(WIDTHS),
                        help="bottleneck widths of the width sweep (at the default sigma)")
    fashion_mnist.add_options(parser, ex09.positive_int, ex09.user_path)


def scores(estimate, clean):
    """Mean over images of each image's PSNR and SSIM (data range 2), and the MSE."""
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity
    estimate = np.clip(np.asarray(estimate, np.float64).reshape(-1, 28, 28), -1, 1)
    clean = np.asarray(clean, np.float64).reshape(-1, 28, 28)
    psnr = [peak_signal_noise_ratio(c, e, data_range=2.0) for c, e in zip(clean, estimate)]
    ssim = [structural_similarity(c, e, data_range=2.0) for c, e in zip(clean, estimate)]
    return {"psnr_db": float(np.mean(np.minimum(psnr, 100.0))), "ssim": float(np.mean(ssim)),
            "mse": float(np.mean((estimate - clean) ** 2))}


def mean_psnr(estimate, clean):
    error = np.mean((np.clip(estimate, -1, 1) - clean).reshape(len(clean), -1) ** 2, axis=1)
    return float(np.mean(10 * np.log10(4.0 / np.maximum(error, 1e-10))))


def tune(function, grid, noisy, clean, sigma):
    """The grid value with the best mean PSNR on the held-out training images."""
    results = {value: mean_psnr(function(noisy, value, sigma), clean) for value in grid}
    best = max(results, key=results.get)
    return best, results, best in (grid[0], grid[-1])


@torch.no_grad()
def output(model, x):
    return model.eval()(x).numpy()


def sweep_run(sigma, width, seed):
    """The run folder of the sweep DAE at noise level sigma and bottleneck width (ex09.py's
    denoise run or the seed study's at the sheet's settings, else a variant's run)."""
    if (sigma, width) == (DEFAULT_NOISE_STD, 8):
        return "denoise" if seed == 0 else f"seed{seed}/denoise"
    return variants.run_folder("sheet" if width == 8 else f"width{width}", "denoise", seed, sigma)


def learned_runs(out_dir):
    """The plain AE and the DAEs of every seed found (default runs and the seed study's)."""
    found = {"plain AE fed the noisy input (seed 0)": "plain", "DAE (seed 0)": "denoise"}
    for folder in sorted(out_dir.glob("seed[0-9]*/denoise")):
        found[f"DAE ({folder.parent.name.replace('seed', 'seed ')})"] = \
            folder.relative_to(out_dir).as_posix()
    return {label: compare.load_run(out_dir, name)["model"] for label, name in found.items()
            if (out_dir / name / "metrics.json").exists()}


def plot_sweeps(rows, widths_rows, path):
    plt = ex09._matplotlib()
    fig, (left, right, legend_ax) = plt.subplots(1, 3, figsize=(6.5, 2.9),
                                                 gridspec_kw={"width_ratios": (1, 1, 0.7)})
    methods = [m for m in dict.fromkeys(r["method"] for r in rows)
               if m in FILTERS or m.startswith(("DAE trained at", "noisy input"))]
    for method in methods:
        points = [(r["sigma"], r["psnr_db"]) for r in rows if r["method"] == method]
        style = "o-" if method.startswith("DAE") else ".--"
        label = method.replace(" (no denoising)", "").replace(" (BayesShrink)", "")
        left.plot(*zip(*points), style, label="DAE trained per level" if method.startswith(
            "DAE") else label, linewidth=1.2, markersize=4)
    left.set(xlabel=r"noise std $\sigma$ (on $[-1, 1]$)", ylabel="mean PSNR (dB)",
             title="tuned / trained per noise level")
    widths = [r["width"] for r in widths_rows]
    right.plot(widths, [r["psnr_db"] for r in widths_rows], "o-", color="tab:red",
               label=r"DAE, narrow layers $\geq w$")
    best = max((r for r in rows if r["sigma"] == DEFAULT_NOISE_STD and r["method"] in FILTERS),
               key=lambda r: r["psnr_db"])
    right.axhline(best["psnr_db"], color="black", linestyle="--", linewidth=1,
                  label=f"best filter:\n{best['method']}")
    right.set_xscale("log", base=2)
    right.set_xticks(widths, [str(w) for w in widths])
    right.set(xlabel="bottleneck width $w$ (8: the sheet's)", ylabel="mean PSNR (dB)",
              title=rf"width, at $\sigma$ = {DEFAULT_NOISE_STD:g}")
    for ax in (left, right):
        ax.grid(True, alpha=0.3)
    legend_ax.axis("off")  # both legends beside the panels, where they cover no data
    legend_ax.add_artist(legend_ax.legend(*left.get_legend_handles_labels(), loc="upper left",
                                          fontsize=7, title="left", title_fontsize=7.5))
    legend_ax.legend(*right.get_legend_handles_labels(), loc="lower left", fontsize=7,
                     title="right", title_fontsize=7.5)
    ex09.save(fig, path)


EXAMPLE_CLASSES = ("T-shirt/top", "Pullover", "Sandal", "Sneaker", "Bag")


def plot_examples(examples, classes, path):
    """One row per test image (five classes with print, straps, laces), one column per method."""
    rows = [i for i, name in enumerate(classes) if name in EXAMPLE_CLASSES]
    images = {name: torch.as_tensor(np.asarray(x, np.float32)).reshape(-1, 784)
              for name, x in examples}
    titles = [name.replace(" ", "\n", 1) if len(name) > 9 else name for name in images]
    ex09.plot_image_rows([(classes[i], torch.stack([x[i] for x in images.values()]))
                          for i in rows], titles,
                         rf"Noisy test images ($\sigma$ = {DEFAULT_NOISE_STD:g}) denoised by "
                         f"each method", path)


def run(args):
    started = time.perf_counter()
    torch.set_flush_denormal(True)
    x_train, _, x_test, y_test = fashion_mnist.load(args)
    if DEFAULT_NOISE_STD not in args.sigmas:
        raise ex09.UsageError(f"--sigmas must include the sheet's {DEFAULT_NOISE_STD:g}")
    tune_clean = x_train[-args.tune_images:].numpy().reshape(-1, 28, 28)
    clean = x_test.numpy().reshape(-1, 28, 28)
    mean, components = compare.pca_fit(x_train[:-args.tune_images].numpy(), max(PCA_KS))
    sweep = {(sigma, 8): sweep_run(sigma, 8, args.sweep_seed) for sigma in args.sigmas}
    sweep.update({(DEFAULT_NOISE_STD, w): sweep_run(DEFAULT_NOISE_STD, w, args.sweep_seed)
                  for w in args.widths})
    trained_seconds = compare.ensure_runs(args, list(dict.fromkeys(sweep.values())), args.jobs,
                                          {"epochs": args.epochs,
                                           "tsne_samples": args.tsne_samples})
    sweep = {key: compare.load_run(args.out_dir, name)["model"] for key, name in sweep.items()}
    learned = learned_runs(args.out_dir)
    cache = args.out_dir / "denoisers"
    rows, width_rows = [], []
    shown = ex09.first_of_each_class(y_test)
    examples = [("original", clean[shown])]
    for sigma in args.sigmas:
        noisy_test = add_white_noise(x_test, sigma, torch.Generator().manual_seed(TEST_NOISE_SEED))
        noisy_tune = add_white_noise(torch.from_numpy(tune_clean).reshape(-1, 784), sigma,
                                     torch.Generator().manual_seed(TUNE_NOISE_SEED))
        noisy_images, noisy_tune = (noisy_test.numpy().reshape(-1, 28, 28),
                                    noisy_tune.numpy().reshape(-1, 28, 28))
        outputs = {"noisy input (no denoising)": (noisy_images, {})}
        for name, (function, parameter, grid) in FILTERS.items():
            best, curve, at_edge = tune(function, grid, noisy_tune, tune_clean, sigma)
            # At an edge, how much the last step of the grid still gained: ~0 is a plateau
            # (non-local means with h -> 0 tends to a fixed filter), else the grid is too short.
            edge_gain = curve[best] - curve[grid[1] if best == grid[0] else grid[-2]]
            if at_edge:
                print(f"note: {name} at sigma {sigma:g}: the best {parameter} ({best}) is at the "
                      f"edge of its grid {grid}; the last step gained {edge_gain:.3f} dB")
            outputs[name] = (function(noisy_images, best, sigma), {
                "parameter": parameter, "value": best, "best_at_grid_edge": at_edge,
                "edge_gain_db": edge_gain if at_edge else None,
                "tuning_psnr_db": {str(k): v for k, v in curve.items()}})
            print(f"sigma {sigma:g}: {name} tuned, {parameter} = {best}", flush=True)
        for k in PCA_KS:
            projected = compare.pca_reconstruct(noisy_test.numpy(), mean, components[:k])
            outputs[f"PCA-{k}"] = (projected, {})
        if sigma == DEFAULT_NOISE_STD:
            for label, model in learned.items():
                outputs[label] = (output(model, noisy_test), {})
        outputs[f"DAE trained at each sigma (seed {args.sweep_seed})"] = (
            output(sweep[sigma, 8], noisy_test), {})
        for method, (estimate, extra) in outputs.items():
            rows.append({"sigma": sigma, "method": method, **scores(estimate, clean),
                         "parameter": None, "value": None, "best_at_grid_edge": None,
                         "edge_gain_db": None, **extra})
            if sigma == DEFAULT_NOISE_STD and method in (
                    "noisy input (no denoising)", *FILTERS, "PCA-32", "DAE (seed 0)"):
                examples.append((method.replace(" (no denoising)", "").replace(" (BayesShrink)",
                                                                               ""),
                                 np.clip(estimate, -1, 1).reshape(-1, 28, 28)[shown]))
        if sigma == DEFAULT_NOISE_STD:
            for width in args.widths:
                width_rows.append({"width": width, "sigma": sigma, "seed": args.sweep_seed,
                                   **scores(output(sweep[sigma, width], noisy_test), clean)})
    ranking = sorted((r for r in rows if r["sigma"] == DEFAULT_NOISE_STD),
                     key=lambda r: -r["psnr_db"])
    args.out_dir.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".denoisers.partial-", dir=args.out_dir))
    try:
        plot_sweeps(rows, width_rows, stage / "sweeps.png")
        plot_examples(examples, [ex09.CLASS_NAMES[int(y_test[i])] for i in shown],
                      stage / "examples.png")
        ex09.write_csv([{k: v for k, v in r.items() if k != "tuning_psnr_db"} for r in rows],
                       stage / "denoisers.csv")
        ex09.write_csv(width_rows, stage / "widths.csv")
        (stage / "denoisers.json").write_text(json.dumps({
            "sigmas": args.sigmas, "test_noise_seed": TEST_NOISE_SEED,
            "tune_noise_seed": TUNE_NOISE_SEED, "tune_images": args.tune_images,
            "sweep_seed": args.sweep_seed, "epochs": args.epochs, "rows": rows,
            "widths": width_rows, "ranking_at_default_sigma": [r["method"] for r in ranking],
            "sweep_runs": {f"sigma {s:g}, width {w}": sweep_run(s, w, args.sweep_seed)
                           for s, w in sweep},
            "training_seconds": round(trained_seconds, 1),
            "wall_seconds": round(time.perf_counter() - started, 1)}, indent=2) + "\n")
        ex09.publish(stage, cache)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    print(f"\nsigma {DEFAULT_NOISE_STD:g}, ranked by mean PSNR on the test set:")
    for place, r in enumerate(ranking, 1):
        print(f"  {place:2d}. {r['method']:45s} {r['psnr_db']:6.2f} dB  SSIM {r['ssim']:.3f}")
    print(f"written to {cache}")
