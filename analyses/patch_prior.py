"""A classical denoiser whose patch prior is learned from the training images (Q3, beside the
denoiser comparison)

    python -m analyses patch-prior   # writes figures/patch_prior/; about 70 minutes on 2 cores
    # needs figures/denoisers/ (python -m analyses denoisers); pairs the widened DAE trained
    # longer too where figures/dae_longer/ exists

The filters of the comparison learn nothing from the training images; the networks learn from
59,000 of them. Sparse coding over a learned dictionary does too (Elad and Aharon, IEEE Trans.
Image Processing 15(12), 2006): a dictionary of --atoms patch-sized atoms is learned from
clean patches of the training images less the held-out ones (scikit-learn's online dictionary
learning, Mairal et al. 2009); every overlapping patch of a noisy image, less its mean, is
coded by orthogonal matching pursuit with as few atoms as bring its residual below
(tolerance x sigma)^2 per pixel, and the coded patches are averaged back into the image. The
patch size, the number of atoms and the tolerance are tuned by analyses/tuning.py on noisy
copies of the first --tune-images held-out training images (denoisers.json's images and noise
draw), blind and clipping-aware (clipping.debias of the output) as the filters are. The chosen
settings are scored on the comparison's noisy test images and paired image by image with the
clipping-aware Wiener estimator and the widened DAE trained longer.
"""

import json
import time
import warnings

import numpy as np

import ex09
import fashion_mnist
import publishing
from analyses import linear, runs
from analyses.denoiser_figures import plot_tuning, redraw_tuning
from analyses.denoisers import TUNE_NOISE_SEED
from analyses.filters import PIPELINES
from analyses.measures import mean_psnr, scores
from analyses.paired import (TOLERANCE_DB, comparison_images, leads, per_image_psnr,
                             print_leads, read_comparison)
from analyses.tuning import Param, tune
from noise import DEFAULT_NOISE_STD

NAME = "sparse coding, learned dictionary"
PARAMS = (Param("patch", (5, 7, 9), 7, step=2, low=3, high=27),
          # doubled or halved past an edge, from 8 up to 1024: a cap on the learning time (a
          # dictionary of 1024 atoms takes minutes), not a natural bound
          Param("atoms", (64, 128, 256), 128, step=0, low=8, high=1024,
                jumps=((256, 512), (512, 1024), (64, 32), (32, 16), (16, 8))),
          Param("tolerance", (0.7, 0.8, 0.9, 1.0, 1.1), 1.0, factor=1.15))
# The dictionary learning's own settings, not tuned: patches it learns from, passes over them,
# its sparsity penalty (on mean-free patches of the [-1, 1] images) and mini-batch size
LEARN_PATCHES, LEARN_PASSES, LEARN_ALPHA, LEARN_BATCH = 60_000, 5, 0.1, 512


def build_parser(parser):
    parser.add_argument("--out-dir", type=ex09.user_path, default=ex09.HERE / "figures",
                        help="reads <out-dir>/denoisers/denoisers.json; results go to "
                             "<out-dir>/patch_prior/")
    parser.add_argument("--tune-images", type=ex09.positive_int, default=300,
                        help="the first N of denoisers.json's held-out tuning images tune the "
                             "patch size, atoms and tolerance")
    parser.add_argument("--learn-patches", type=ex09.positive_int, default=LEARN_PATCHES,
                        help="clean training patches each dictionary learns from")
    parser.add_argument("--seed", type=ex09.seed_int, default=0,
                        help="seed of the patches drawn and of the dictionary learning")
    parser.add_argument("--jobs", type=ex09.positive_int, default=2,
                        help="processes the images are spread over")
    parser.add_argument("--redraw", action="store_true",
                        help="tune nothing: draw tuning.png again from patch_prior.json")
    fashion_mnist.add_options(parser, ex09.positive_int, ex09.user_path)


def learn_dictionary(images, patch, atoms, n_patches, seed):
    """(atoms, patch*patch) unit-norm atoms learned from n_patches mean-free patches drawn at
    random from images (N, 28, 28)."""
    from sklearn.decomposition import MiniBatchDictionaryLearning
    rng = np.random.default_rng(seed)
    which = rng.integers(0, len(images), n_patches)
    top, left = (rng.integers(0, 28 - patch + 1, n_patches) for _ in range(2))
    rows = top[:, None] + np.arange(patch)
    cols = left[:, None] + np.arange(patch)
    data = images[which[:, None, None], rows[:, :, None], cols[:, None, :]].reshape(n_patches, -1)
    data = data - data.mean(axis=1, keepdims=True)
    learner = MiniBatchDictionaryLearning(n_components=atoms, alpha=LEARN_ALPHA,
                                          batch_size=LEARN_BATCH, max_iter=LEARN_PASSES,
                                          random_state=seed)
    return learner.fit(data).components_


def denoise(task):
    """Each image of a (N, 28, 28) stack: every overlapping patch, less its mean, coded by
    orthogonal matching pursuit until its squared residual is below (tolerance sigma)^2 per
    pixel, its mean added back; the patches averaged into the image."""
    from sklearn.feature_extraction.image import extract_patches_2d, reconstruct_from_patches_2d
    from sklearn.linear_model import orthogonal_mp_gram
    images, dictionary, patch, tolerance, sigma = task
    gram = dictionary @ dictionary.T
    out = []
    for image in images:
        patches = extract_patches_2d(image, (patch, patch)).reshape(-1, patch * patch)
        mean = patches.mean(axis=1, keepdims=True)
        free = patches - mean
        norms, tol = (free * free).sum(axis=1), (tolerance * sigma) ** 2 * patch * patch
        with warnings.catch_warnings():  # more atoms than pixels: once the chosen atoms span
            # the patch, the pursuit stops above the tolerance, as near as that dictionary gets
            warnings.simplefilter("ignore", RuntimeWarning)
            code = orthogonal_mp_gram(gram, dictionary @ free.T, tol=tol, norms_squared=norms)
        # scikit-learn's pursuit takes one atom before it checks the residual: a patch already
        # within the tolerance takes none
        code[:, norms <= tol] = 0
        coded = (code.T @ dictionary + mean).reshape(-1, patch, patch)
        out.append(reconstruct_from_patches_2d(coded, image.shape))
    return np.stack(out)


def denoise_all(images, dictionary, patch, tolerance, sigma, jobs):
    """denoise over a (N, 28, 28) stack, in chunks spread over `jobs` processes."""
    chunks = np.array_split(images, max(1, min(len(images), 4 * jobs)))
    return np.concatenate(runs.map_jobs(denoise, [
        (chunk, dictionary, patch, tolerance, sigma) for chunk in chunks], jobs))


def run(args):
    if args.redraw:
        return redraw_tuning(args.out_dir / "patch_prior", "patch-prior", NAME)
    started = time.perf_counter()
    den = read_comparison(args.out_dir)
    sigma, n = DEFAULT_NOISE_STD, args.tune_images
    fit, tune_clean, noisy_tune, clean, noisy_test = comparison_images(args, den, n)
    n_test = len(clean)
    learn = fit.reshape(-1, 28, 28).astype(np.float64)
    dictionaries, outputs, learn_seconds = {}, {}, []

    def filtered(values, images=noisy_tune):
        key = (id(images), tuple(values.items()))
        if key not in outputs:  # both pipelines score the same outputs
            shape = (values["patch"], values["atoms"])
            if shape not in dictionaries:
                t0 = time.perf_counter()
                print(f"  learning {values['atoms']} atoms of {values['patch']}x"
                      f"{values['patch']}", flush=True)
                dictionaries[shape] = learn_dictionary(learn, *shape, args.learn_patches,
                                                       args.seed)
                learn_seconds.append(time.perf_counter() - t0)
            outputs[key] = denoise_all(images, dictionaries[shape], values["patch"],
                                       values["tolerance"], sigma, args.jobs)
        return outputs[key]

    records, results, psnr = {}, {}, {}
    for pipeline, finish in PIPELINES.items():
        method = NAME if pipeline == "blind" else f"{NAME}, {pipeline}"
        t0 = time.perf_counter()
        print(f"tuning {NAME}, {pipeline}, on {n} held-out training images", flush=True)
        chosen, curves, best = tune(
            lambda values, finish=finish: mean_psnr(finish(filtered(values), sigma), tune_clean),
            PARAMS, lambda text: print(text, flush=True),
            start=results.get("blind", {}).get("chosen"))
        estimate = finish(filtered(chosen, noisy_test), sigma)
        psnr[method] = per_image_psnr(estimate, clean)
        records[pipeline] = {"filter": NAME, "sigma": sigma, "pipeline": pipeline,
                             "parameters": curves, "tuned_psnr_db": best}
        results[pipeline] = {"method": method, "chosen": chosen, "tuned_psnr_db": best,
                             "parameters": curves,
                             "seconds": round(time.perf_counter() - t0, 1),
                             "at_grid_edge": [p for p, c in curves.items()
                                              if c["at_grid_edge"]],
                             "test": scores(estimate, clean)}
        print(f"  chosen {chosen}: {best:.3f} dB held-out, test "
              f"{results[pipeline]['test']['psnr_db']:.3f} dB", flush=True)
    recorded = {s["method"]: s["subset"]["psnr_db"]["mean"] for s in den["summary"]
                if s["sigma"] == sigma}
    wiener = f"{linear.NAME}, clipping-aware"
    others = {wiener: linear.estimate(linear.fit(fit, sigma, aware=True),
        noisy_test.reshape(-1, 784)).reshape(-1, 28, 28)}
    for label, estimate in others.items():
        psnr[label] = per_image_psnr(estimate, clean)
        if abs(psnr[label].mean() - recorded[label]) > TOLERANCE_DB:
            raise ex09.UsageError(f"{label}: the test images here are not denoisers.json's; "
                                  f"make it again with python -m analyses denoisers")
    pairs, means = leads(f"{NAME}, clipping-aware", others, psnr, args.out_dir, den)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    with publishing.staged(args.out_dir / "patch_prior") as stage:
        plot_tuning(records, stage / "tuning.png")
        (stage / "patch_prior.json").write_text(json.dumps({
            "sigma": sigma, "tune_images": n, "tune_noise_seed": TUNE_NOISE_SEED,
            "test_images": n_test, "test_noise_seed": den["test_noise_seed"],
            "learn_images": len(learn), "learn_patches": args.learn_patches,
            "learn_passes": LEARN_PASSES, "learn_alpha": LEARN_ALPHA, "seed": args.seed,
            "dictionaries_learned": len(dictionaries),
            "learn_seconds": round(sum(learn_seconds), 1), "pipelines": results, **means,
            "pairs": pairs, "jobs": args.jobs,
            "wall_seconds": round(time.perf_counter() - started, 1)}, indent=1) + "\n")
    print_leads(pairs)
    print(f"written to {args.out_dir / 'patch_prior'}")
