"""Do the answers hold over seeds? Both modes at the sheet's settings for several seeds, every
measure per seed and as mean, standard deviation, min and max, next to PCA-8 (Q2e, Q3c).

    python -m analyses seeds        # writes figures/seeds/
    # 3 minutes on 2 CPU cores once the runs exist; 11 more to train seeds 1-4, two at a time

Seed 0 is the default run (<out-dir>/plain, <out-dir>/denoise), reused; the other seeds' runs go
to <out-dir>/seedN/MODE/, trained --jobs at a time with one thread each (faster on 2 cores than
one at a time with two threads: see README); finished runs with the same settings are reused.
Measured per seed, on all 10,000 test images unless said otherwise:
  test MSE with clean input, and with the one fixed noisy copy of the test set
  (noise.TEST_NOISE_SEED) for both models; 5-NN accuracy of the code (training codes -> test
  codes), overall and per class; live code units; whether the run started dead; linear CKA
  plain vs denoise at the same seed, plain vs plain and denoise vs denoise across seeds; on the
  500 stratified test images of the t-SNE map: trustworthiness and silhouette of the 2-D map,
  per-class silhouette in the 8-d code and in 2-D; and the denoiser's codes of the NOISY test
  images measured the same way (its t-SNE map of them as a figure for seed 0).
"""

import itertools
import json
import statistics

import numpy as np
import torch

import ex09
import fashion_mnist
import publishing
from analyses import measures, runs
from noise import DEFAULT_NOISE_STD, TEST_NOISE_SEED, add_white_noise

MODES = ("plain", "denoise")


def build_parser(parser):
    parser.add_argument("--out-dir", type=ex09.user_path, default=ex09.HERE / "figures",
                        help="reads and writes the runs under <out-dir> (see above); results go "
                             "to <out-dir>/seeds/")
    parser.add_argument("--seeds", type=ex09.seed_int, nargs="+", default=[0, 1, 2, 3, 4],
                        help="training seeds (seed 0 is the default run)")
    parser.add_argument("--jobs", type=ex09.positive_int, default=2,
                        help="runs at a time (each with one thread when more than one)")
    parser.add_argument("--epochs", type=ex09.positive_int, default=50,
                        help="epochs per run (the sheet's 50; lower only for quick checks)")
    parser.add_argument("--tsne-samples", type=ex09.non_negative_int, default=500,
                        help="t-SNE sample of each run")
    fashion_mnist.add_options(parser, ex09.positive_int, ex09.user_path)


def run_dir(out_dir, seed, mode):
    return mode if seed == 0 else f"seed{seed}/{mode}"


def per_class(values, labels):
    return [float(np.mean(values[labels == c])) for c in range(len(ex09.CLASS_NAMES))]


def code_measures(train_codes, y_train, test_codes, y_test, sample, seed):
    """5-NN accuracy overall and per class, live units, and on the t-SNE sample: trustworthiness
    and silhouette of a fresh 2-D map, silhouette per class in the code and in 2-D."""
    from sklearn.metrics import silhouette_samples
    from sklearn.neighbors import KNeighborsClassifier
    knn = KNeighborsClassifier(n_neighbors=measures.KNN_K, algorithm="brute")
    predicted = knn.fit(np.asarray(train_codes, np.float32), y_train).predict(
        np.asarray(test_codes, np.float32))
    codes, labels = test_codes[sample], y_test[sample]
    result = {"knn5_accuracy": float(np.mean(predicted == y_test)),
              "knn5_per_class": per_class(predicted == y_test, y_test),
              "live_units": measures.active_units(test_codes)}
    if np.ptp(codes, axis=0).max() < 1e-12:  # a collapsed code: no map, no silhouette
        return result | {"trustworthiness": None, "silhouette_2d": None,
                         "silhouette_code_per_class": None, "silhouette_2d_per_class": None}
    coords = ex09.tsne_2d(codes, seed)
    scores = measures.embedding_scores({"codes": codes, "coords": coords, "labels": labels})
    return result | scores | {
        "silhouette_code_per_class": per_class(silhouette_samples(codes, labels), labels),
        "silhouette_2d_per_class": per_class(silhouette_samples(coords, labels), labels),
        "coords": coords}


def summary_of(values):
    values = [v for v in values if v is not None]
    return measures.spread(values) if values else None


def measure(args):
    """Every measure, per seed and model (plain, denoise, PCA-8; each also fed the noisy test
    images), and the CKA of the codes across models and seeds."""
    x_train, y_train, x_test, y_test = fashion_mnist.load(args)
    y_train, y_test, target = y_train.numpy(), y_test.numpy(), x_test.numpy()
    x_noisy = add_white_noise(x_test, DEFAULT_NOISE_STD,
                              torch.Generator().manual_seed(TEST_NOISE_SEED))
    # One stratified sample of test images for every map, whatever the training seed.
    sample = ex09.stratified_indices(torch.from_numpy(y_test), args.tsne_samples, 0).numpy()
    mean, components = measures.pca_fit(x_train.numpy(), measures.PCA_COMPONENTS)
    pca_train = measures.pca_codes(x_train.numpy(), mean, components)
    rows, test_codes, maps = [], {}, {}
    for seed in args.seeds:
        for mode in MODES:
            name = run_dir(args.out_dir, seed, mode)
            entry = runs.load_run(args.out_dir, name)
            # Checked in the same read as the model used: a run published after ensure_runs
            # looked at it is not measured as the seed it replaced.
            runs.check_settings(args, name, entry["metrics"], {
                "epochs": args.epochs, "tsne_samples": args.tsne_samples})
            h_train, _ = measures.codes_and_outputs(entry["model"], x_train)
            for inputs, suffix in ((x_test, ""), (x_noisy, " (noisy input)")):
                h_test, out = measures.codes_and_outputs(entry["model"], inputs)
                found = code_measures(h_train, y_train, h_test, y_test, sample, seed)
                maps[(mode + suffix, seed)] = found.pop("coords", None)
                test_codes[(mode + suffix, seed)] = h_test
                rows.append({"model": mode + suffix, "seed": seed,
                             "test_mse": measures.mse(out, target),
                             "dead_at_start": entry["metrics"].get("dead_at_start"),
                             **found})
            print(f"measured {mode} at seed {seed}", flush=True)
        for inputs, suffix in ((x_test, ""), (x_noisy, " (noisy input)")):
            codes = measures.pca_codes(inputs.numpy(), mean, components)
            found = code_measures(pca_train, y_train, codes, y_test, sample, seed)
            found.pop("coords", None)
            rows.append({"model": "PCA-8" + suffix, "seed": seed, "test_mse": measures.mse(
                codes @ components + mean, target), "dead_at_start": None, **found})
    cka = {"plain vs denoise, same seed": [measures.linear_cka(
        test_codes[("plain", s)], test_codes[("denoise", s)]) for s in args.seeds]}
    for mode in MODES:
        cka[f"{mode} vs {mode}, two seeds"] = [measures.linear_cka(
            test_codes[(mode, a)], test_codes[(mode, b)])
            for a, b in itertools.combinations(args.seeds, 2)]
    return rows, cka, maps, y_test[sample]


SCALARS = ("test_mse", "knn5_accuracy", "live_units", "trustworthiness", "silhouette_2d")


SHORT = {"plain": "AE", "plain (noisy input)": "AE\n+noise", "denoise": "DAE",
         "denoise (noisy input)": "DAE\n+noise", "PCA-8": "PCA", "PCA-8 (noisy input)":
         "PCA\n+noise", "plain vs denoise, same seed": "AE-DAE\nsame seed",
         "plain vs plain, two seeds": "AE-AE\n2 seeds", "denoise vs denoise, two seeds":
         "DAE-DAE\n2 seeds"}


PLOTTED = ("test_mse", "knn5_accuracy", "live_units", "silhouette_2d")  # trustworthiness:
# 0.994-0.997 in every row of the report's table, so not drawn (it stays in seeds.json)


def plot(rows, cka, path):
    """Every seed's value of each measure as a dot, the seeds side by side (no dot hides
    another), and the CKA of every pair of runs; colours by input, in a legend of their own."""
    plt = ex09._matplotlib()
    models = list(dict.fromkeys(r["model"] for r in rows))
    titles = {"test_mse": "test MSE (vs clean image)", "knn5_accuracy": "5-NN accuracy of code",
              "live_units": "live code units (of 8)", "silhouette_2d": "silhouette of 2-D map"}
    ylabels = {"test_mse": "MSE", "knn5_accuracy": "accuracy (%)", "live_units": "units",
               "silhouette_2d": "silhouette", "linear CKA of two codes": "CKA"}
    scale = {"knn5_accuracy": 100}
    colours = {"clean test images": "tab:blue", "noisy test images": "tab:red",
               "CKA of two runs' codes": "tab:green"}
    fig, axes = plt.subplots(2, 3, figsize=(6.5, 4.9))
    panels = [(titles[key], ylabels[key], {
        m: [scale.get(key, 1) * r[key] for r in rows if r["model"] == m and r[key] is not None]
        for m in models}) for key in PLOTTED]
    panels.append(("linear CKA of two codes", ylabels["linear CKA of two codes"], cka))
    for ax, (title, ylabel, groups) in zip(axes.flat, panels):
        for i, (name, values) in enumerate(groups.items()):
            values = values[:1] if name.startswith("PCA") else values  # no seed: one value
            colour = (colours["noisy test images"] if "noisy" in name else
                      colours["CKA of two runs' codes"] if " vs " in name else
                      colours["clean test images"])
            offsets = (np.arange(len(values)) - (len(values) - 1) / 2) * min(
                0.08, 0.6 / max(len(values), 1))  # seeds (or pairs) side by side
            ax.plot(i + offsets, values, "o", alpha=0.7, markersize=3.5, color=colour)
        ax.set_xticks(range(len(groups)), [SHORT.get(n, n) for n in groups], fontsize=7)
        ax.set_title(title)
        ax.set_ylabel(ylabel, fontsize=7.5)
        ax.set_xlabel("pair of runs" if groups is cka else "model (input)", fontsize=7.5)
        ax.grid(True, alpha=0.3)
    legend = axes.flat[-1]
    legend.axis("off")
    for label, colour in colours.items():
        legend.plot([], [], "o", color=colour, label=label)
    legend.legend(loc="center", title="dots (one per seed;\nPCA-8: one value)", fontsize=7.5,
                  title_fontsize=7.5)
    fig.suptitle(f"{len(set(r['seed'] for r in rows))} seeds side by side in each column; "
                 f"PCA: PCA-8; +noise: the fixed noisy test set as input", fontsize=8.5)
    ex09.save(fig, path)


def plot_noisy_map(maps, labels, seed, path):
    """Q3c: the DAE's code of the clean and of the noisy test images."""
    plt = ex09._matplotlib()
    fig, axes = plt.subplots(1, 2, figsize=(5.2, 3.0))  # the AE's map is ex09's tsne.png
    for ax, name, title in zip(axes, ("denoise", "denoise (noisy input)"),
                               ("DAE, clean images", "DAE, noisy images")):
        ex09.draw_tsne(ax, maps[(name, seed)], labels, f"{title} (seed {seed})")
        ax.set(xticks=[], yticks=[])
    fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=5,
               markerscale=1.5, columnspacing=1.0, handletextpad=0.2)
    fig.tight_layout(rect=(0, 0.13, 1, 1))
    ex09.save(fig, path, layout=False)


def run(args):
    args.seeds = list(dict.fromkeys(args.seeds))  # a seed given twice is one seed
    if args.tsne_samples < len(ex09.CLASS_NAMES):
        raise ex09.UsageError("--tsne-samples must be at least 10, one per class")
    training_seconds = runs.ensure_runs(args, [run_dir(args.out_dir, seed, mode) for seed in
                                                  args.seeds for mode in MODES],
                                           args.jobs, {"epochs": args.epochs,
                                                       "tsne_samples": args.tsne_samples})
    rows, cka, maps, map_labels = measure(args)
    summary = {model: {key: summary_of([r[key] for r in rows if r["model"] == model])
                       for key in SCALARS}
               for model in dict.fromkeys(r["model"] for r in rows)}
    summary["CKA"] = {name: summary_of(values) for name, values in cka.items()}
    per_class_rows = [
        {"model": model, "class": name, **{key: statistics.fmean(
            [r[key][c] for r in rows if r["model"] == model and r[key] is not None])
            for key in ("knn5_per_class", "silhouette_code_per_class", "silhouette_2d_per_class")
            if any(r[key] is not None for r in rows if r["model"] == model)}}
        for model in dict.fromkeys(r["model"] for r in rows)
        for c, name in enumerate(ex09.CLASS_NAMES)]
    out = args.out_dir / "seeds"
    args.out_dir.mkdir(parents=True, exist_ok=True)
    with publishing.staged(args.out_dir / "seeds") as stage:
        plot(rows, cka, stage / "seeds.png")
        if all(maps.get((name, args.seeds[0])) is not None
               for name in ("plain", "denoise", "denoise (noisy input)")):
            plot_noisy_map(maps, map_labels, args.seeds[0], stage / "tsne_denoise_noisy.png")
        ex09.write_csv([{k: v for k, v in r.items() if not k.endswith("per_class")}
                        for r in rows], stage / "seeds.csv")
        ex09.write_csv(per_class_rows, stage / "per_class.csv")
        (stage / "seeds.json").write_text(json.dumps(
            {"seeds": args.seeds, "epochs": args.epochs, "tsne_samples": args.tsne_samples,
             "test_noise_seed": TEST_NOISE_SEED, "knn_k": measures.KNN_K,
             "training_wall_seconds": round(training_seconds, 1), "jobs": args.jobs,
             "summary": summary, "cka": cka, "rows": rows, "per_class": per_class_rows},
            indent=2) + "\n")
    for model, values in summary.items():
        print(model)
        for key, s in values.items():
            if s:
                print(f"  {key:32s} {s['mean']:.4f} +- {s['sd']:.4f}  "
                      f"[{s['min']:.4f}, {s['max']:.4f}]  n={s['n']}")
    print(f"written to {out}")
