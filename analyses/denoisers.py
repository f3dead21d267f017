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

Tuning, never on the test set: each method's parameters (analyses/filters.py) are tuned on
noisy copies of the last --tune-images TRAINING images (noise from TUNE_NOISE_SEED; non-local
means on the first --nlm-tune-images, BM3D on the first --bm3d-tune-images; PCA is fitted on
the other training images) by analyses/tuning.py's search; each method's curves, chosen values
and score at the library's defaults go to denoisers.json and tuning.png. Learned rows, over
seeds as mean +- sd [min, max]: the DAE and the plain AE fed the noisy input (--seeds), the
mirrored-decoder DAE, DAEs trained at each noise level and widened to each width (--sweep-seeds).
"""

import json
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import torch

import ex09
import fashion_mnist
import publishing
from analyses import clipping, linear, runs, variants
from analyses.denoiser_figures import (CEILING, example_columns, plot_examples,
                                       plot_standing, plot_tuning)
from analyses.filters import (BATCH_FILTERS, BM3D_NF, FILTERS, LIBRARY_NF, NLM_DEFAULT_H,
                              PCA_PARAM, PIPELINES, apply)
from analyses.measures import mean_psnr, pca_fit, pca_reconstruct, scores, spread
from analyses.tuning import tune
from noise import DEFAULT_NOISE_STD, TEST_NOISE_SEED, add_white_noise

SIGMAS = (0.2, DEFAULT_NOISE_STD, 1.0)
WIDTHS = (8, 16, 32, 64, 128)  # 128: every layer as wide as the first
SEEDS = (0, 1, 2, 3, 4)  # the seed study's
SWEEP_SEEDS = (1, 2, 3)
TUNE_NOISE_SEED = TEST_NOISE_SEED + 1000  # the held-out training images' noise

def method_label(name, pipeline):
    return name if pipeline == "blind" else f"{name}, {pipeline}"


def learned_groups(args):
    """label -> {seed: run folder}: the learned rows at sigma 0.5 (and the sweeps)."""
    groups = {
        "DAE": {s: runs.seed_run(s, "denoise") for s in args.seeds},
        "plain AE fed the noisy input": {s: runs.seed_run(s, "plain") for s in args.seeds},
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
        return runs.seed_run(seed, "denoise")
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
    parser.add_argument("--redraw", action="store_true",
                        help="run nothing: draw tuning.png again from denoisers.json")
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
    if args.redraw:
        return runs.redraw(args.out_dir / "denoisers", "denoisers", lambda record, stage:
                           plot_tuning(dict(enumerate(record["tuning"])), stage / "tuning.png"))
    started = time.perf_counter()
    torch.set_flush_denormal(True)
    x_train, _, x_test, y_test = fashion_mnist.load(args)
    check(args, len(x_train), len(x_test))
    groups = learned_groups(args)
    names = [name for folders in groups.values() for name in folders.values()]
    trained_seconds = runs.ensure_runs(args, names, args.jobs, {
        "epochs": args.epochs, "tsne_samples": args.tsne_samples})
    models = {}
    for label, folders in groups.items():  # each run's settings checked in the same read
        for seed, name in folders.items():
            run_ = runs.load_run(args.out_dir, name)
            runs.check_settings(args, name, run_["metrics"], {
                "epochs": args.epochs, "tsne_samples": args.tsne_samples})
            models[label, seed] = run_["model"]
    tune_clean = x_train[-args.tune_images:].numpy().reshape(-1, 28, 28).astype(np.float64)
    clean = x_test.numpy().reshape(-1, 28, 28).astype(np.float64)
    mean, components = pca_fit(x_train[:-args.tune_images].numpy(), 784)
    filters = {k: v for k, v in FILTERS.items() if not (args.skip_bm3d and k == "BM3D")}
    pool = ProcessPoolExecutor(args.jobs) if args.jobs > 1 else None
    try:
        results = measure(args, filters, models, pool, x_test, y_test, tune_clean, clean,
                          x_train[:-args.tune_images].numpy(), (mean, components))
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


def measure(args, filters, models, pool, x_test, y_test, tune_clean, clean, fit_images, pca):
    """Every method at every noise level: (rows, tuning records, example images, their
    indices). PCA and the Wiener estimator are fitted on fit_images, the training images not
    used for tuning; pca is (mean, components) of fit_images."""
    mean, components = pca
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
                estimate = pca_reconstruct(noisy_tune.reshape(-1, 784), mean,
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
                    pca_reconstruct(noisy_test.numpy(), mean, components[:k]).reshape(
                        -1, 28, 28), sigma), {"k": k})
            print(f"sigma {sigma:g}: PCA, {pipeline}: k = {chosen['k']} (grid "
                  f"{curves['k']['grid']})", flush=True)
        for pipeline in PIPELINES:  # nothing to tune: its moments come from the noise model
            estimator = linear.fit(fit_images, sigma, aware=pipeline != "blind")
            outputs[method_label(linear.NAME, pipeline)] = (
                "linear", linear.estimate(estimator, noisy), None)
            print(f"sigma {sigma:g}: {linear.NAME}, {pipeline}: fitted", flush=True)
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


def summarise(rows):
    """One entry per (sigma, method): mean, sd, min, max over seeds (n = 1 for a filter)."""
    summary = []
    for key in dict.fromkeys((r["sigma"], r["method"]) for r in rows):
        group = [r for r in rows if (r["sigma"], r["method"]) == key]
        entry = {"sigma": key[0], "method": key[1], "kind": group[0]["kind"],
                 "seeds": [r["seed"] for r in group], "values": group[0]["values"]}
        for part in ("subset", "full"):
            entry[part] = None if group[0][part] is None else {
                measure: spread([r[part][measure] for r in group])
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
