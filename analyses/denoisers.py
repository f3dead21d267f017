"""Where does the sheet's denoiser stand? The DAE against tuned classical filters, BM3D and PCA (Q3)

    python -m analyses denoisers     # writes figures/denoisers/
    # about 26 minutes on 2 CPU cores once its runs exist (BM3D: about 0.07 s per image);
    # missing runs are trained --jobs at a time (a run made with other settings is refused)

One fixed noisy copy of the test set per noise level (noise.add_white_noise from
noise.TEST_NOISE_SEED, the same for every method and seed); every method's output is compared
with the clean image: PSNR and SSIM as the mean over images of each image's value
(skimage.metrics, data_range 2 on [-1, 1]) and the MSE. Every method is scored on the whole
test set, and all of them on one fixed subset, the first --subset-images test images, where
BM3D is scored too (one image per call, its clean definition; on all 10,000 it would take hours).

Tuning, never on the test set: each method's main parameters (listed in FILTERS; the others at
the library's defaults) are tuned on noisy copies of the last --tune-images TRAINING images
(noise from TUNE_NOISE_SEED; non-local means on the first --nlm-tune-images of them, BM3D on
the first --bm3d-tune-images; PCA is fitted on the other training images), by a coordinate
search: each parameter in turn over its grid, the others fixed, and a step of two at once (not
along a named category) where that gains, until nothing changes. A grid whose best value is at
an edge is extended past it, unless that edge is the parameter's natural bound (sigma 0 of non-local means, k = 784 of PCA,
window 1 of the median); a best value still at an edge after MAX_EXTENSIONS is flagged. Each
method's curves, chosen values and its score at the library's defaults are recorded in
denoisers.json and drawn in tuning.png.
  filters: Gaussian, median (scipy); total variation (Chambolle), wavelet (BayesShrink),
  non-local means over h, sigma, patch size, patch distance and fast_mode (scikit-image);
  BM3D over sigma_psd and its profile (the bm3d package; FFT domain BM3D_NF, see there);
  PCA-k (fitted on the training images not used for tuning), k tuned like a filter;
  learned, every row over seeds, as mean +- sd [min, max]: the DAE and the plain AE fed the noisy
  input (seeds --seeds), the DAE with the mirrored decoder (python -m analyses variant mirrored),
  DAEs trained at each noise level and widened to each width (seeds --sweep-seeds).
"""

import itertools
import json
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch

import ex09
import fashion_mnist
import publishing
from analyses import clipping, compare, variants
from noise import DEFAULT_NOISE_STD, TEST_NOISE_SEED, add_white_noise

SIGMAS = (0.2, DEFAULT_NOISE_STD, 1.0)
WIDTHS = (8, 16, 32, 64, 128)  # 128: every layer as wide as the first
SEEDS = (0, 1, 2, 3, 4)  # the seed study's
SWEEP_SEEDS = (1, 2, 3)
TUNE_NOISE_SEED = TEST_NOISE_SEED + 1000  # the held-out training images' noise
MAX_EXTENSIONS = 6
# BM3D's FFT domain for its exact transform-domain variances (Makinen, Azzari and Foi 2020):
# 16, not the library's 32, makes a 28x28 image 4 times faster (0.07 s, not 0.3 s). It is a
# precision setting, not a model: every chosen setting is scored at 32 too (library_nf_psnr_db
# in denoisers.json) and the report says by how much they differ.
BM3D_NF, LIBRARY_NF = 16, 32
REFINEMENTS = 2  # rounds that halve the grid steps beside a continuous best value


@dataclass(frozen=True)
class Param:
    """One tuned parameter: its starting grid, the value the library uses by default, whether
    the grid may be extended past an edge (by `factor`, or by `step` for integers), and the
    natural bounds at which an edge is no defect (the parameter cannot go further)."""
    name: str
    grid: tuple
    default: object
    factor: float = None
    step: int = None
    low: float = None
    high: float = None

    def beyond(self, value, direction):
        """The next value past `value` (direction -1 or +1), or None at a natural bound."""
        if (direction < 0 and value == self.low) or (direction > 0 and value == self.high):
            return None
        if self.factor:
            new = float(f"{value * self.factor ** direction:.4g}")
        elif self.step:
            new = value + direction * self.step
        else:
            return None
        if (self.low is not None and new < self.low) or (self.high is not None and
                                                          new > self.high):
            new = self.low if direction < 0 else self.high
        return new

    def natural(self, value):
        return value in (self.low, self.high)


# ----------------------------------------------------------------------------- the filters

def _gaussian(images, sigma, std):
    from scipy.ndimage import gaussian_filter
    return gaussian_filter(images, sigma=(0, std, std), mode="nearest")


def _median(images, sigma, window):
    from scipy.ndimage import median_filter
    return median_filter(images, size=(1, window, window), mode="nearest")


def _tv(image, sigma, weight):
    from skimage.restoration import denoise_tv_chambolle
    return denoise_tv_chambolle(image, weight=weight)


def _wavelet(image, sigma, sigma_factor):
    from skimage.restoration import denoise_wavelet
    # sigma_factor None: the library estimates the noise level itself (its default)
    given = None if sigma_factor is None else sigma_factor * sigma
    return denoise_wavelet(image, sigma=given, method="BayesShrink", mode="soft",
                           rescale_sigma=True)


def _nl_means(image, sigma, h, sigma_factor, patch_size, patch_distance, fast_mode):
    from skimage.restoration import denoise_nl_means
    # h and the filter's own sigma are given as multiples of the true noise sigma. With its
    # sigma > 0, skimage subtracts 2 sigma^2 from patch distances, so h alone stops mattering
    # as it shrinks: both are tuned together, sigma 0 included.
    return denoise_nl_means(image, h=h * sigma, sigma=sigma_factor * sigma,
                            patch_size=patch_size, patch_distance=patch_distance,
                            fast_mode=fast_mode)


def _bm3d(image, sigma, sigma_factor, profile, nf=BM3D_NF):
    """One image per call (a larger frame would let blocks match across images)."""
    import bm3d
    # (the 'refilter' profile fails on 28x28 images in bm3d 4.0: a padded residual of 56x56)
    settings = {"np": bm3d.BM3DProfile, "vn": bm3d.BM3DProfileVN,
                "high": bm3d.BM3DProfileHigh}[profile]()
    settings.num_threads = 1  # deterministic; images are spread over processes instead
    settings.nf = nf
    return bm3d.bm3d(image, sigma_factor * sigma, profile=settings)


def _one(task):
    function, image, sigma, values = task
    return function(image, sigma, **values)


def apply(name, images, sigma, values, pool=None):
    """Filter `name` with these values on every image (N, 28, 28): the per-image filters one
    image per call, spread over `pool`'s processes if given."""
    function = FILTERS[name][0]
    if name in BATCH_FILTERS:
        return function(images, sigma, **values)
    tasks = [(function, image, sigma, values) for image in images]
    if pool is None:
        return np.stack([_one(task) for task in tasks])
    return np.stack(list(pool.map(_one, tasks, chunksize=max(1, len(tasks) // 64))))


# name -> (function(image or images, sigma, **values), parameters); see apply(). Values of
# sigma_factor and h are multiples of the true noise sigma. Defaults: the library's own; where
# it has none (Gaussian and median width, BM3D's noise level), the textbook choice (1 px, a 3x3
# window, the true sigma). Settings not listed stay at the library's defaults.
FILTERS = {
    "Gaussian": (_gaussian, (Param("std", (0.3, 0.5, 0.7, 1.0, 1.4, 2.0), 1.0, factor=1.4),)),
    "median": (_median, (Param("window", (1, 2, 3, 4, 5, 7), 3, step=2, low=1),)),
    "total variation": (_tv, (Param("weight", (0.03, 0.06, 0.12, 0.25, 0.5, 1.0), 0.1,
                                    factor=2),)),
    "wavelet (BayesShrink)": (_wavelet, (Param("sigma_factor", (0.25, 0.5, 0.75, 1.0, 1.5, 2.0,
                                                                 3.0), None, factor=1.5),)),
    "non-local means": (_nl_means, (
        Param("h", (0.1, 0.2, 0.3, 0.45, 0.6, 0.8, 1.0), None, factor=1.4),
        Param("sigma_factor", (0.0, 0.25, 0.5, 0.75, 1.0), 0.0, factor=1.4, low=0.0),
        Param("patch_size", (3, 5, 7), 7, step=2, low=1, high=27),
        Param("patch_distance", (2, 4, 6, 8), 11, step=2, low=1, high=27),
        Param("fast_mode", (False, True), True))),
    "BM3D": (_bm3d, (Param("sigma_factor", (0.4, 0.55, 0.7, 0.85, 1.0, 1.2), 1.0, factor=1.2),
                     Param("profile", ("np", "vn", "high"), "np"))),
}
BATCH_FILTERS = ("Gaussian", "median")  # scipy filters a stack of images in one call
NLM_DEFAULT_H = 0.1  # skimage's default h, on the image scale (not relative to sigma)
PCA_PARAM = Param("k", (8, 16, 32, 64, 96, 128, 192, 256, 384, 512), 784, step=0, low=1,
                  high=784)
PCA_EXTEND = {512: 784, 8: 4, 4: 2, 2: 1}  # k halves towards 1, or jumps to all 784
# Every classical method twice, tuned separately from the same filter outputs: blind to the
# clipping (as built for zero-mean noise), and with its output debiased through the noise model
# (clipping.debias), which the DAE learned from its training pairs.
PIPELINES = {"blind": lambda estimate, sigma: estimate, "clipping-aware": clipping.debias}
CEILING = "plain AE fed the clean input"
EXAMPLE_METHODS = ("noisy input (no denoising)", "BM3D", "BM3D, clipping-aware",
                   "non-local means, clipping-aware", "DAE", "DAE, code size 128")
EXAMPLE_TITLES = {"noisy input (no denoising)": "noisy", "BM3D": "BM3D\nblind",
                  "BM3D, clipping-aware": "BM3D\naware",
                  "non-local means, clipping-aware": "NL-means\naware",
                  "DAE, code size 128": "DAE code\nsize 128"}


def method_label(name, pipeline):
    return name if pipeline == "blind" else f"{name}, {pipeline}"


def mean_psnr(estimate, clean):
    error = np.mean((np.clip(estimate, -1, 1) - clean).reshape(len(clean), -1) ** 2, axis=1)
    return float(np.mean(10 * np.log10(4.0 / np.maximum(error, 1e-10))))


def _image_scores(pair):
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity
    clean, estimate = pair
    return ([peak_signal_noise_ratio(c, e, data_range=2.0) for c, e in zip(clean, estimate)],
            [structural_similarity(c, e, data_range=2.0) for c, e in zip(clean, estimate)])


def scores(estimate, clean, pool=None):
    """Mean over images of each image's PSNR and SSIM (data range 2), and the MSE; the images
    spread over `pool`'s processes if given (the same numbers either way)."""
    estimate = np.clip(np.asarray(estimate, np.float64).reshape(-1, 28, 28), -1, 1)
    clean = np.asarray(clean, np.float64).reshape(-1, 28, 28)
    parts = [(clean[i], estimate[i]) for i in np.array_split(np.arange(len(clean)), 8)]
    parts = list(map(_image_scores, parts) if pool is None else pool.map(_image_scores, parts))
    psnr, ssim = (np.concatenate([part[j] for part in parts]) for j in (0, 1))
    return {"psnr_db": float(np.mean(np.minimum(psnr, 100.0))), "ssim": float(np.mean(ssim)),
            "mse": float(np.mean((estimate - clean) ** 2))}


def tune(score, params, log=lambda text: None, start=None):
    """Coordinate search for the values of `params` that maximise score(values): each parameter
    in turn over its grid with the others fixed, and one grid step of two parameters at once
    (neither a named category) where that gains, until nothing changes; an edge that is best is extended past
    (Param.beyond; PCA's k by PCA_EXTEND) up to MAX_EXTENSIONS times; then REFINEMENTS rounds
    halve the grid steps beside each continuous best value and search again. Returns the chosen
    values; per parameter its grid, its curve at the chosen values of the others, whether the
    choice sits at an edge that is not a natural bound and whether the search converged; and
    the score at the chosen values. The search starts at `start` (values on the grids, e.g.
    another search's result) if given, else at the defaults or the grids' middles."""
    cache = {}

    def at(values):
        key = tuple(values.items())
        if key not in cache:
            cache[key] = score(dict(values))
        return cache[key]

    grids = {p.name: sorted(p.grid) if p.factor or p.step is not None else list(p.grid)
             for p in params}
    chosen = {p.name: p.default if p.default in grids[p.name] else
              grids[p.name][len(grids[p.name]) // 2] for p in params}
    if start:
        for p in params:
            if start[p.name] not in grids[p.name]:
                grids[p.name] = sorted(grids[p.name] + [start[p.name]])
        chosen = dict(start)
    extended, converged = {p.name: 0 for p in params}, True

    def diagonal_step():  # coupled parameters (h and sigma): one step of two at once
        # not with a named category (BM3D's profile): its order on the grid means nothing, so
        # a step along it and another value at once follows no ridge (and costs BM3D runs)
        for p, q in itertools.combinations([p.name for p in params
                                            if not isinstance(p.grid[0], str)], 2):
            for dp, dq in itertools.product((-1, 1), repeat=2):
                i, j = grids[p].index(chosen[p]) + dp, grids[q].index(chosen[q]) + dq
                if 0 <= i < len(grids[p]) and 0 <= j < len(grids[q]):
                    step = {**chosen, p: grids[p][i], q: grids[q][j]}
                    if at(step) > at(chosen):
                        return step
        return None

    for refinement in range(REFINEMENTS + 1):
        for _ in range(len(params) * 8):
            changed = False
            for p in params:
                while True:
                    grid = grids[p.name]
                    curve = [at({**chosen, p.name: v}) for v in grid]
                    best = grid[int(np.argmax(curve))]
                    edge = 0 if best == grid[0] else 1 if best == grid[-1] else None
                    if edge is None or extended[p.name] >= MAX_EXTENSIONS:
                        break
                    new = (PCA_EXTEND.get(best) if p is PCA_PARAM else
                           p.beyond(best, 1 if edge else -1))
                    if new is None or new in grid:
                        break
                    grids[p.name] = sorted(grid + [new])
                    extended[p.name] += 1
                    log(f"  {p.name}: best at the edge {best}, grid extended to {new}")
                changed |= best != chosen[p.name]
                chosen[p.name] = best
            if not changed and (step := diagonal_step()):
                chosen, changed = step, True
            if not changed:
                break
        else:  # the passes ran out while values still moved: said, not hidden
            converged = False
        if refinement < REFINEMENTS:  # halve the steps beside each continuous best value
            for p in params:
                grid, i = grids[p.name], grids[p.name].index(chosen[p.name])
                if p.factor:
                    grids[p.name] = sorted(set(grid) | {
                        float(f"{(grid[j] + grid[i]) / 2:.4g}") for j in (i - 1, i + 1)
                        if 0 <= j < len(grid)})
    result = {}
    for p in params:
        grid = grids[p.name]
        curve = [at({**chosen, p.name: v}) for v in grid]
        best = chosen[p.name]
        at_edge = (p.factor or p.step is not None) and best in (grid[0], grid[-1]) and not (
            p.natural(best) or (p is PCA_PARAM and best in (1, 784)))
        result[p.name] = {"grid": grid, "psnr_db": curve, "chosen": best,
                          "at_grid_edge": bool(at_edge),
                          "at_natural_bound": bool(p.natural(best)),
                          "range_db": float(max(curve) - min(curve)),
                          "search_converged": converged}
    return chosen, result, at(chosen)


def learned_groups(args):
    """label -> {seed: run folder}: the learned rows at sigma 0.5 (and the sweeps)."""
    groups = {
        "DAE": {s: compare.seed_run(s, "denoise") for s in args.seeds},
        "plain AE fed the noisy input": {s: compare.seed_run(s, "plain") for s in args.seeds},
        "DAE, mirrored decoder": {s: variants.run_folder("mirrored", "denoise", s)
                                  for s in args.seeds},
    }
    for sigma in args.sigmas:
        groups[f"DAE trained at sigma {sigma:g}"] = {s: sweep_run(sigma, 8, s)
                                                     for s in args.sweep_seeds}
    for width in args.widths:
        groups[f"DAE, code size {width}"] = {s: sweep_run(DEFAULT_NOISE_STD, width, s)
                                         for s in args.sweep_seeds}
    return groups


def sweep_run(sigma, width, seed):
    """The run folder of the DAE at noise level sigma and width (ex09.py's denoise run or the
    seed study's at the sheet's settings, else a variant's run)."""
    if (sigma, width) == (DEFAULT_NOISE_STD, 8):
        return compare.seed_run(seed, "denoise")
    return variants.run_folder("sheet" if width == 8 else f"width{width}", "denoise", seed, sigma)


@torch.no_grad()
def output(model, x):
    return model.eval()(x).numpy()


def build_parser(parser):
    parser.add_argument("--out-dir", type=ex09.user_path, default=ex09.HERE / "figures",
                        help="reads the runs under <out-dir>; results go to <out-dir>/denoisers/")
    parser.add_argument("--tune-images", type=ex09.positive_int, default=1000,
                        help="the last N training images, noised, tune every filter and PCA-k "
                             "(PCA is fitted on the others)")
    parser.add_argument("--nlm-tune-images", type=ex09.positive_int, default=300,
                        help="the first N of the tuning images tune non-local means (five "
                             "parameters: many evaluations)")
    parser.add_argument("--bm3d-tune-images", type=ex09.positive_int, default=100,
                        help="the first N of the tuning images tune BM3D (slow per image)")
    parser.add_argument("--subset-images", type=ex09.positive_int, default=1000,
                        help="the first N test images: the subset on which BM3D and every other "
                             "method are scored")
    parser.add_argument("--seeds", type=ex09.seed_int, nargs="+", default=list(SEEDS),
                        help="seeds of the DAE, the plain AE and the mirrored-decoder DAE")
    parser.add_argument("--sweep-seeds", type=ex09.seed_int, nargs="+", default=list(SWEEP_SEEDS),
                        help="seeds of each noise-level and width sweep DAE")
    parser.add_argument("--epochs", type=ex09.positive_int, default=50,
                        help="epochs of each run it reads or trains (the sheet's 50)")
    parser.add_argument("--tsne-samples", type=ex09.non_negative_int, default=500,
                        help="t-SNE sample of each run it reads or trains")
    parser.add_argument("--jobs", type=ex09.positive_int, default=2,
                        help="runs trained at a time, and processes running the per-image "
                             "filters")
    parser.add_argument("--sigmas", type=ex09.positive_float, nargs="+", default=list(SIGMAS),
                        help="noise levels on the [-1, 1] scale (the sheet's 0.5 among them)")
    parser.add_argument("--widths", type=ex09.positive_int, nargs="+", default=list(WIDTHS),
                        help="widths of the width sweep at sigma 0.5 (8: the sheet's network)")
    parser.add_argument("--skip-bm3d", action="store_true",
                        help="leave BM3D out (for quick checks; the report needs it)")
    fashion_mnist.add_options(parser, ex09.positive_int, ex09.user_path)


def check(args, n_train, n_test):
    """Every option against the data, before any work."""
    if DEFAULT_NOISE_STD not in args.sigmas:
        raise ex09.UsageError(f"--sigmas must include the sheet's {DEFAULT_NOISE_STD:g}")
    if args.tune_images >= n_train:
        raise ex09.UsageError(f"--tune-images {args.tune_images} leaves no training image to "
                              f"fit PCA on (the training set has {n_train})")
    for option in ("bm3d_tune_images", "nlm_tune_images"):
        if getattr(args, option) > args.tune_images:
            raise ex09.UsageError(f"--{option.replace('_', '-')} {getattr(args, option)} is "
                                  f"more than --tune-images {args.tune_images}")
    args.subset_images = min(args.subset_images, n_test)
    args.seeds, args.sweep_seeds = (list(dict.fromkeys(args.seeds)),
                                    list(dict.fromkeys(args.sweep_seeds)))
    args.sigmas, args.widths = list(dict.fromkeys(args.sigmas)), list(dict.fromkeys(args.widths))


def run(args):
    started = time.perf_counter()
    torch.set_flush_denormal(True)
    x_train, _, x_test, y_test = fashion_mnist.load(args)
    check(args, len(x_train), len(x_test))
    groups = learned_groups(args)
    names = [name for runs in groups.values() for name in runs.values()]
    trained_seconds = compare.ensure_runs(args, names, args.jobs, {
        "epochs": args.epochs, "tsne_samples": args.tsne_samples})
    models = {}
    for label, runs in groups.items():  # each run's settings checked in the same read
        for seed, name in runs.items():
            run_ = compare.load_run(args.out_dir, name)
            compare.check_settings(args, name, run_["metrics"], {
                "epochs": args.epochs, "tsne_samples": args.tsne_samples})
            models[label, seed] = run_["model"]
    tune_clean = x_train[-args.tune_images:].numpy().reshape(-1, 28, 28).astype(np.float64)
    clean = x_test.numpy().reshape(-1, 28, 28).astype(np.float64)
    mean, components = compare.pca_fit(x_train[:-args.tune_images].numpy(), 784)
    filters = {k: v for k, v in FILTERS.items() if not (args.skip_bm3d and k == "BM3D")}
    pool = ProcessPoolExecutor(args.jobs) if args.jobs > 1 else None
    try:
        results = measure(args, filters, models, pool, x_test, y_test, tune_clean, clean, mean,
                          components)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    rows, tuning, examples, shown = results
    summary = summarise(rows)
    ranking = sorted((s for s in summary if s["sigma"] == DEFAULT_NOISE_STD
                      and s["kind"] != "reference"),
                     key=lambda s: -s["subset"]["psnr_db"]["mean"])
    write(args, rows, summary, ranking, tuning, examples, [ex09.CLASS_NAMES[int(y_test[i])]
                                                           for i in shown],
          {"trained_seconds": round(trained_seconds, 1), "groups": groups,
           "wall_seconds": round(time.perf_counter() - started, 1)})
    print(f"\nsigma {DEFAULT_NOISE_STD:g}, ranked by mean PSNR on the first "
          f"{args.subset_images} test images (mean over seeds where learned):")
    for place, s in enumerate(ranking, 1):
        psnr, ssim = s["subset"]["psnr_db"], s["subset"]["ssim"]
        print(f"  {place:2d}. {s['method']:36s} {psnr['mean']:6.2f} +- {psnr['sd']:.2f} dB "
              f"[{psnr['min']:.2f}, {psnr['max']:.2f}]  SSIM {ssim['mean']:.3f}  n={psnr['n']}")
    print(f"written to {args.out_dir / 'denoisers'}")


def measure(args, filters, models, pool, x_test, y_test, tune_clean, clean, mean, components):
    """Every method at every noise level: (rows, tuning records, example images, their
    indices)."""
    subset = np.arange(args.subset_images)
    shown = ex09.first_of_each_class(y_test)
    examples, rows, tuning = [("original", clean[shown])], [], {}
    ceiling = clean_input_ceiling(models, x_test, clean, subset, pool)
    for sigma in args.sigmas:
        noisy_test = add_white_noise(x_test, sigma, torch.Generator().manual_seed(TEST_NOISE_SEED))
        noisy_tune = add_white_noise(torch.from_numpy(tune_clean).float().reshape(-1, 784), sigma,
                                     torch.Generator().manual_seed(TUNE_NOISE_SEED))
        noisy = noisy_test.numpy().reshape(-1, 28, 28).astype(np.float64)
        noisy_tune = noisy_tune.numpy().reshape(-1, 28, 28).astype(np.float64)
        outputs = {"noisy input (no denoising)": ("input", noisy, None)}
        for name, (_, params) in filters.items():
            n_tune = {"BM3D": args.bm3d_tune_images,
                      "non-local means": args.nlm_tune_images}.get(name, args.tune_images)
            cache = {}  # values -> the filter's outputs on the tuning images, both pipelines'

            def filtered(values, name=name, n=n_tune, cache=cache):
                key = tuple(values.items())
                if key not in cache:
                    cache[key] = apply(name, noisy_tune[:n], sigma, values, pool)
                return cache[key]
            on_test = {}  # values -> the filter's outputs on the test images, likewise
            for pipeline, finish in PIPELINES.items():
                t0 = time.perf_counter()

                def score(values, n=n_tune, finish=finish):
                    return mean_psnr(finish(filtered(values), sigma), tune_clean[:n])
                print(f"sigma {sigma:g}: tuning {name}, {pipeline}, on {n_tune} held-out "
                      f"training images", flush=True)
                # the clipping-aware search starts where the blind one ended: shared outputs
                chosen, curves, best = tune(score, params, lambda text: print(text, flush=True),
                                            start=tuning.get((f"{sigma:g}", name), {}).get(
                                                "chosen"))
                defaults = {p.name: p.default for p in params}
                if name == "non-local means":
                    defaults["h"] = NLM_DEFAULT_H / sigma
                if name == "BM3D":
                    defaults["nf"] = LIBRARY_NF
                default_psnr = score(defaults)
                tuned_at = time.perf_counter()
                images = noisy[subset] if name == "BM3D" else noisy
                key = tuple(chosen.items())
                if key not in on_test:
                    on_test[key] = apply(name, images, sigma, chosen, pool)
                    # of one core: the wall time of filtering the images, times the processes
                    per_image = (time.perf_counter() - tuned_at) * (
                        args.jobs if pool is not None and name not in BATCH_FILTERS else 1) / len(
                        images)
                label = method_label(name, pipeline)
                # the reduced FFT domain checked at the chosen setting (outputs shared likewise)
                library_nf = score({**chosen, "nf": LIBRARY_NF}) if name == "BM3D" else None
                tuning[f"{sigma:g}", label] = {
                    "sigma": sigma, "method": label, "filter": name, "pipeline": pipeline,
                    "tune_images": n_tune, "chosen": chosen, "parameters": curves,
                    "tuned_psnr_db": best, "defaults": defaults, "default_psnr_db": default_psnr,
                    "tuning_seconds": round(tuned_at - t0, 1), "core_seconds_per_image": per_image,
                    **({"nf": BM3D_NF, "library_nf": LIBRARY_NF,
                        "library_nf_psnr_db": library_nf} if name == "BM3D" else {})}
                for p, c in curves.items():
                    flag = " AT THE GRID EDGE" if c["at_grid_edge"] else ""
                    print(f"  {p} = {c['chosen']}{flag} (curve range {c['range_db']:.3f} dB)")
                print(f"  tuned {best:.2f} dB on the tuning images, defaults {default_psnr:.2f} "
                      f"dB ({tuned_at - t0:.0f} s)", flush=True)
                if library_nf is not None:
                    print(f"  at the library's nf {LIBRARY_NF}: {library_nf:.2f} dB", flush=True)
                outputs[label] = ("filter", finish(on_test[key], sigma), chosen)

        for pipeline, finish in PIPELINES.items():
            def pca_score(values, finish=finish):
                estimate = compare.pca_reconstruct(noisy_tune.reshape(-1, 784), mean,
                                                   components[:values["k"]])
                return mean_psnr(finish(estimate.reshape(-1, 28, 28), sigma), tune_clean)
            chosen, curves, best = tune(pca_score, (PCA_PARAM,))
            label = method_label("PCA-k", pipeline)
            tuning[f"{sigma:g}", label] = {
                "sigma": sigma, "method": label, "filter": "PCA-k", "pipeline": pipeline,
                "tune_images": args.tune_images, "chosen": chosen, "parameters": curves,
                "tuned_psnr_db": best, "defaults": {"k": 784},
                "default_psnr_db": pca_score({"k": 784}), "seconds": None}
            for k, suffix in ((chosen["k"], " (k tuned)"), (8, " (the code size)")):
                outputs[method_label(f"PCA-{k}{suffix}", pipeline)] = ("pca", finish(
                    compare.pca_reconstruct(noisy_test.numpy(), mean, components[:k]).reshape(
                        -1, 28, 28), sigma), {"k": k})
            print(f"sigma {sigma:g}: PCA, {pipeline}: k = {chosen['k']} (grid "
                  f"{curves['k']['grid']})", flush=True)
        for (label, seed), model in models.items():
            if label.startswith("DAE trained at sigma") and label != f"DAE trained at sigma " \
                                                                     f"{sigma:g}":
                continue
            if sigma != DEFAULT_NOISE_STD and not label.startswith("DAE trained at sigma"):
                continue
            outputs[label, seed] = ("learned", output(model, noisy_test).reshape(-1, 28, 28),
                                    None)
        for key, (kind, estimate, values) in outputs.items():
            method, seed = key if isinstance(key, tuple) else (key, None)
            bm3d = method.startswith("BM3D")
            rows.append({"sigma": sigma, "method": method, "kind": kind, "seed": seed,
                         "values": values,
                         "subset": scores(estimate if bm3d else estimate[subset], clean[subset],
                                          pool),
                         "full": None if bm3d else scores(estimate, clean, pool)})
        rows += [{**row, "sigma": sigma} for row in ceiling]
        if sigma == DEFAULT_NOISE_STD:
            examples += example_columns(outputs, rows, sigma, shown)
    return rows, tuning, examples, shown


def clean_input_ceiling(models, x_test, clean, subset, pool):
    """Q3 against Q2: the plain AE fed the clean test images, one row per seed: what the
    sheet's network reconstructs with no noise at all, a reference for the DAE."""
    return [{"method": CEILING, "kind": "reference", "seed": seed, "values": None,
             "subset": scores(estimate[subset], clean[subset], pool),
             "full": scores(estimate, clean, pool)}
            for (label, seed), model in models.items() if label == "plain AE fed the noisy input"
            for estimate in [output(model, x_test).reshape(-1, 28, 28)]]


def median_seed(rows, sigma, method):
    """The seed of the median subset PSNR among `method`'s rows (the lower middle of an even
    count); None for a method without seeds."""
    seeds = sorted((r["subset"]["psnr_db"], r["seed"]) for r in rows
                   if r["sigma"] == sigma and r["method"] == method)
    return seeds[(len(seeds) - 1) // 2][1]


def example_columns(outputs, rows, sigma, shown):
    """The examples figure's columns: the noisy input, the strongest filters both ways, and the
    DAE of the sheet and of code size 128 at the seed of median PSNR (not a chosen one)."""
    columns = []
    for method in EXAMPLE_METHODS:
        if not any(r["sigma"] == sigma and r["method"] == method for r in rows):
            continue
        seed = median_seed(rows, sigma, method)
        key = method if seed is None else (method, seed)
        title = EXAMPLE_TITLES.get(method, method) + ("" if seed is None else f"\nseed {seed}")
        columns.append((title, np.clip(outputs[key][1], -1, 1)[shown]))
    return columns


def summarise(rows):
    """One entry per (sigma, method): mean, sd, min, max over seeds (n = 1 for a filter)."""
    summary = []
    for key in dict.fromkeys((r["sigma"], r["method"]) for r in rows):
        group = [r for r in rows if (r["sigma"], r["method"]) == key]
        entry = {"sigma": key[0], "method": key[1], "kind": group[0]["kind"],
                 "seeds": [r["seed"] for r in group], "values": group[0]["values"]}
        for part in ("subset", "full"):
            entry[part] = None if group[0][part] is None else {
                measure: compare.spread([r[part][measure] for r in group])
                for measure in ("psnr_db", "ssim", "mse")}
        summary.append(entry)
    return summary


def write(args, rows, summary, ranking, tuning, examples, classes, extra):
    args.out_dir.mkdir(parents=True, exist_ok=True)
    with publishing.staged(args.out_dir / "denoisers") as stage:
        plot_standing(summary, args, stage / "standing.png")
        plot_tuning(tuning, stage / "tuning.png")
        plot_examples(examples, classes, stage / "examples.png")
        ex09.write_csv([{"sigma": s["sigma"], "method": s["method"], "n": s["subset"]["psnr_db"]
                         ["n"], **{f"{part}_{m}_{stat}": (s[part][m][stat] if s[part] else None)
                                   for part in ("subset", "full") for m in ("psnr_db", "ssim")
                                   for stat in ("mean", "sd", "min", "max")}}
                        for s in summary], stage / "denoisers.csv")
        (stage / "denoisers.json").write_text(json.dumps({
            "sigmas": args.sigmas, "test_noise_seed": TEST_NOISE_SEED,
            "tune_noise_seed": TUNE_NOISE_SEED, "tune_images": args.tune_images,
            "bm3d_tune_images": args.bm3d_tune_images, "nlm_tune_images": args.nlm_tune_images,
            "subset_images": args.subset_images,
            "subset": f"the first {args.subset_images} test images", "seeds": args.seeds,
            "sweep_seeds": args.sweep_seeds, "widths": args.widths, "epochs": args.epochs,
            "tuning": list(tuning.values()), "rows": rows, "summary": summary,
            "ranking_at_default_sigma": [s["method"] for s in ranking],
            "pipelines": {"blind": "the filter's output as it is",
                          "clipping-aware": "clipping.debias(filter output): f^-1, f(y) = "
                                            "E[clip(y + sigma e, -1, 1)]"},
            # what a blind filter's output tends to on the background (y = -1): f(-1)
            "clipped_background_mean": {f"{s:g}": float(clipping.clipped_mean(-1.0, s))
                                        for s in args.sigmas},
            **extra}, indent=1) + "\n")


# ----------------------------------------------------------------------------- figures

def plot_tuning(tuning, path):
    """Every tuning curve: one panel per method and parameter, one colour per noise level, solid
    blind and dashed clipping-aware, PSNR relative to that search's best; the chosen value
    marked."""
    plt = ex09._matplotlib()
    from matplotlib.ticker import FormatStrFormatter, MaxNLocator, NullFormatter
    panels = list(dict.fromkeys((t["filter"], p) for t in tuning.values()
                                for p in t["parameters"]))
    cols = 4
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(6.5, 1.6 * rows + 0.6), squeeze=False)
    colours = {}
    for ax, (method, name) in zip(axes.flat, panels):
        for t in tuning.values():
            if t["filter"] != method:
                continue
            c = t["parameters"][name]
            colour = colours.setdefault(t["sigma"], f"C{len(colours)}")
            style = "-" if t["pipeline"] == "blind" else "--"
            x = [str(v) for v in c["grid"]] if isinstance(c["grid"][0], (str, bool)) else c["grid"]
            y = np.array(c["psnr_db"]) - t["tuned_psnr_db"]
            ax.plot(x, y, ".", linestyle=style, color=colour, linewidth=1, markersize=2.5)
            chosen = str(c["chosen"]) if isinstance(x[0], str) else c["chosen"]
            ax.plot([chosen], [y[list(c["grid"]).index(c["chosen"])]], "o", color=colour,
                    markersize=4.5, fillstyle="none")
        if name in ("patch_size", "patch_distance", "window"):
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        elif not isinstance(c["grid"][0], (str, bool)):
            ax.set_xscale("symlog", linthresh=0.1) if 0 in c["grid"] else ax.set_xscale("log")
            ax.xaxis.set_major_formatter(FormatStrFormatter("%g"))
            ax.xaxis.set_minor_formatter(NullFormatter())
        label = {"sigma_factor": r"$\sigma_{filter} / \sigma$", "h": r"$h / \sigma$",
                 "std": "std (px)", "k": "k (components)"}.get(name, name.replace("_", " "))
        ax.set_xlabel(label, fontsize=7, labelpad=1)
        ax.set_title(method.replace(" (BayesShrink)", ""), fontsize=7.5, pad=2)
        ax.set_ylim(max(ax.get_ylim()[0], -3), 0.3)
        ax.tick_params(labelsize=7)
        ax.grid(True, alpha=0.3)
    for ax in axes[:, 0]:
        ax.set_ylabel("PSNR - best (dB)", fontsize=7)
    for ax in axes.flat[len(panels):]:
        ax.axis("off")
    line = plt.Line2D
    handles = [line([], [], color=c, marker=".") for c in colours.values()] + [
        line([], [], color="0.3"), line([], [], color="0.3", linestyle="--"),
        line([], [], marker="o", fillstyle="none", color="0.3", linestyle="none")]
    labels = [rf"$\sigma$ = {s:g}" for s in colours] + ["blind", "clipping-aware",
                                                         "chosen value"]
    fig.legend(handles, labels, loc="upper center", fontsize=7, ncol=len(labels),
               bbox_to_anchor=(0.5, 1.0))
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    ex09.save(fig, path, layout=False)


def short_name(method):
    return (method.replace(" (BayesShrink)", "").replace(" (no denoising)", "")
            .replace("plain AE fed the noisy input", "AE (Q2), noisy in")
            .replace(CEILING, "AE (Q2), clean in").replace(" (k tuned)", "")
            .replace(", clipping-aware", "").replace("non-local means", "NL-means")
            .replace("DAE, code size", "DAE, width"))


def plot_standing(summary, args, path):
    """Left: the ranking at sigma 0.5 (subset PSNR): each classical method blind and
    clipping-aware on one row, learned rows with their seeds' min-max. Middle: PSNR against the
    noise level. Right: PSNR against the code size at sigma 0.5. Both with BM3D either way, the
    best other aware filter and the clean-input AE (what an 8-number code can reconstruct)."""
    plt = ex09._matplotlib()
    fig, (rank_ax, noise_ax, code_ax) = plt.subplots(1, 3, figsize=(6.5, 3.6),
                                                     gridspec_kw={"width_ratios": (1.3, 1, 1)})

    def level(sigma, method):
        return next((s["subset"]["psnr_db"] for s in summary
                     if s["sigma"] == sigma and s["method"] == method), None)
    at = {s["method"]: s for s in summary if s["sigma"] == DEFAULT_NOISE_STD}
    blind = [m for m in at if at[m]["kind"] in ("filter", "pca", "input")
             and not m.endswith(", clipping-aware") and "(the code size)" not in m]
    pairs = {m: next((a for a in at if a.endswith(", clipping-aware") and
                      a.split(" (")[0].split(",")[0] == m.split(" (")[0]), None) for m in blind}
    learned = [m for m in at if at[m]["kind"] in ("learned", "reference")
               and not m.startswith(("DAE trained", "DAE, code size")) or m == "DAE, code size 128"]

    def best(m):
        return max(level(DEFAULT_NOISE_STD, x)["mean"] for x in (m, pairs.get(m)) if x)
    rows = sorted(blind + learned, key=best)
    for i, m in enumerate(rows):
        p = level(DEFAULT_NOISE_STD, m)
        if m in blind:
            rank_ax.plot(p["mean"], i, "s", color="tab:blue", fillstyle="none", markersize=4,
                         label="classical, blind to the clipping" if i == rows.index(blind[0])
                         else None)
            if pairs[m]:
                q = level(DEFAULT_NOISE_STD, pairs[m])
                rank_ax.plot([p["mean"], q["mean"]], [i, i], color="tab:blue", linewidth=0.6)
                rank_ax.plot(q["mean"], i, "s", color="tab:blue", markersize=4,
                             label="classical, clipping-aware" if m == next(
                                 b for b in rows if b in blind and pairs[b]) else None)
        else:
            kind = at[m]["kind"]
            rank_ax.errorbar(p["mean"], i, xerr=[[p["mean"] - p["min"]], [p["max"] - p["mean"]]],
                             fmt="o" if kind == "learned" else "D", markersize=3.5, capsize=2,
                             linewidth=1, color="tab:red" if kind == "learned" else "0.4",
                             label={"DAE": "learned: mean, min-max of seeds",
                                    CEILING: "AE fed clean images (no noise)"}.get(m))
    rank_ax.set_yticks(range(len(rows)), [short_name(m) for m in rows], fontsize=7)
    rank_ax.set(xlabel="mean PSNR (dB)")
    rank_ax.set_title(rf"$\sigma$ = {DEFAULT_NOISE_STD:g}, first {args.subset_images} test "
                      f"images", fontsize=8)
    rank_ax.grid(True, axis="x", alpha=0.3)
    others = [m for m in FILTERS if m != "BM3D"]
    ceiling = level(DEFAULT_NOISE_STD, CEILING)
    for ax, xs, pick, xlabel in (
            (noise_ax, args.sigmas, lambda x: (x, f"DAE trained at sigma {x:g}"),
             r"noise std $\sigma$ (on $[-1, 1]$)"),
            (code_ax, args.widths, lambda x: (DEFAULT_NOISE_STD, f"DAE, code size {x}"),
             "width $W$ (= code size)")):
        dae = [level(*pick(x)) for x in xs]
        ax.errorbar(xs, [d["mean"] for d in dae], yerr=[[d["mean"] - d["min"] for d in dae],
                                                        [d["max"] - d["mean"] for d in dae]],
                    fmt="o-", color="tab:red", capsize=2, markersize=3.5, linewidth=1.2,
                    label=f"DAE, seeds {', '.join(map(str, args.sweep_seeds))}: mean, min-max")
        sigmas = xs if ax is noise_ax else [DEFAULT_NOISE_STD] * len(xs)
        for method, style, label in (("BM3D", "s:", "BM3D, blind"),
                                     ("BM3D, clipping-aware", "s--", "BM3D, clipping-aware")):
            if all(level(s, method) for s in sigmas):
                ax.plot(xs, [level(s, method)["mean"] for s in sigmas], style, color="black",
                        markersize=3, linewidth=1, fillstyle="none" if "blind" in label
                        else "full", label=label)
        ax.plot(xs, [max(level(s, f"{m}, clipping-aware")["mean"] for m in others)
                     for s in sigmas], "^--", color="tab:blue", markersize=3, linewidth=1,
                label="best other filter, clipping-aware")
        if ceiling:
            x0 = xs if ax is noise_ax else [8]
            ax.errorbar(x0, [ceiling["mean"]] * len(x0), yerr=[[ceiling["mean"] - ceiling["min"]]
                        * len(x0), [ceiling["max"] - ceiling["mean"]] * len(x0)], fmt="D",
                        color="0.4", markersize=3, capsize=2, linewidth=1,
                        label="AE fed clean images (code size 8)")
        ax.set_xscale("log", base=2)
        ax.set_xticks(xs, [f"{x:g}" for x in xs])
        ax.set(xlabel=xlabel, ylabel="mean PSNR (dB)")
        ax.grid(True, alpha=0.3)
    noise_ax.set_title("trained / tuned per level", fontsize=8)
    code_ax.set_title(rf"at $\sigma$ = {DEFAULT_NOISE_STD:g}", fontsize=8)
    handles, labels = rank_ax.get_legend_handles_labels()
    more = code_ax.get_legend_handles_labels()
    keep = [(h, lab) for h, lab in zip(handles + more[0], labels + more[1])
            if lab not in ("AE fed clean images (code size 8)",)]
    fig.legend(*zip(*keep), loc="lower center", fontsize=7, ncol=3, bbox_to_anchor=(0.5, 0.0))
    fig.tight_layout(rect=(0, 0.17, 1, 1))
    ex09.save(fig, path, layout=False)


EXAMPLE_CLASSES = ("T-shirt/top", "Pullover", "Sandal", "Sneaker", "Bag")


def plot_examples(examples, classes, path):
    """One row per test image (five classes with print, straps, laces), one column per method."""
    rows = [i for i, name in enumerate(classes) if name in EXAMPLE_CLASSES]
    images = {name: torch.as_tensor(np.asarray(x, np.float32)).reshape(-1, 784)
              for name, x in examples}
    titles = list(images)
    ex09.plot_image_rows([(classes[i], torch.stack([x[i] for x in images.values()]))
                          for i in rows], titles,
                         rf"Noisy test images ($\sigma$ = {DEFAULT_NOISE_STD:g}) denoised by "
                         f"each method", path)
