"""The decoder as printed (8-8-32-64-128-784) against the mirrored one (8-16-32-64-128-784).

    python -m analyses mirrored      # writes figures/mirrored/
    # about 1 minute once its runs exist; missing runs are trained --jobs at a time

The sheet lists the decoder's layers as 8, 32, 64, 128, then the output; the encoder mirrored
would be 16, 32, 64, 128. ex09.py builds the decoder as printed; `python -m analyses variant
mirrored` builds 8-16-32-64-128-784, with the same encoder and the same encoder weights at a
seed. Measured, per seed and as mean +- sd [min, max]:
  which initial networks of seeds 0 .. --scan-seeds - 1 start dead (output independent of the
  input on the test images), for both decoders;
  both modes at seeds --seeds: test MSE with clean input, 5-NN accuracy of the code h (fitted
  on the training codes, scored on the test codes), live code units, and for the denoising
  runs (and, for comparison, the plain ones) the mean PSNR on the fixed noisy copy of the
  test set (noise.TEST_NOISE_SEED).
"""

import json

import numpy as np
import torch

import ex09
import fashion_mnist
import publishing
from analyses import measures, runs, variants
from noise import DEFAULT_NOISE_STD, TEST_NOISE_SEED, add_white_noise

DECODERS = {"as printed (8-8-32)": "sheet", "mirrored (8-16-32)": "mirrored"}
MODES = ("plain", "denoise")


def build_parser(parser):
    parser.add_argument("--out-dir", type=ex09.user_path, default=ex09.HERE / "figures",
                        help="reads (and trains where missing) the runs under <out-dir>; "
                             "results go to <out-dir>/mirrored/")
    parser.add_argument("--seeds", type=ex09.seed_int, nargs="+", default=[0, 1, 2, 3, 4],
                        help="training seeds of both networks in both modes")
    parser.add_argument("--scan-seeds", type=ex09.positive_int, default=40,
                        help="initial networks of seeds 0..N-1 checked for a dead start")
    parser.add_argument("--epochs", type=ex09.positive_int, default=50,
                        help="epochs of each run (the sheet's 50)")
    parser.add_argument("--tsne-samples", type=ex09.non_negative_int, default=500,
                        help="t-SNE sample of each run (as the seed study's)")
    parser.add_argument("--jobs", type=ex09.positive_int, default=2,
                        help="runs trained at a time (each with one thread when more)")
    fashion_mnist.add_options(parser, ex09.positive_int, ex09.user_path)


def run_name(decoder, mode, seed):
    return runs.seed_run(seed, mode) if decoder == "sheet" else variants.run_folder(
        decoder, mode, seed)


def dead_starts(x, seeds):
    """decoder -> the seeds whose initial network's output does not depend on the input."""
    found = {}
    for label, decoder in DECODERS.items():
        found[label] = []
        for seed in seeds:
            ex09.set_seeds(seed)
            if not ex09.network_health(variants.build_model(decoder)(), x)["output_varies"]:
                found[label].append(seed)
    return found


def plot(rows, seeds, path):
    plt = ex09._matplotlib()
    panels = (("plain", "test_mse", "AE: test MSE"), ("plain", "knn5_accuracy",
                                                      "AE: 5-NN accuracy of h"),
              ("denoise", "test_mse", "DAE: test MSE (clean in)"),
              ("denoise", "denoising_psnr_db", r"DAE: PSNR at $\sigma$ = 0.5"))
    fig, axes = plt.subplots(1, len(panels), figsize=(6.5, 2.2))
    for ax, (mode, key, title) in zip(axes, panels):
        for seed in seeds:
            pair = [next(r[key] for r in rows if (r["decoder"], r["mode"], r["seed"]) ==
                         (label, mode, seed)) for label in DECODERS]
            ax.plot([0, 1], pair, "o-", color="0.6", markersize=3, linewidth=0.8)
            ax.annotate(str(seed), (1.05, pair[1]), fontsize=7, va="center")
        for i, label in enumerate(DECODERS):
            values = [r[key] for r in rows if (r["decoder"], r["mode"]) == (label, mode)]
            ax.plot([i - 0.15, i + 0.15], [np.mean(values)] * 2, color="tab:red", linewidth=2)
        ax.set_xticks([0, 1], ["printed\n8-8-32", "mirrored\n8-16-32"], fontsize=7)
        ax.set_xlim(-0.4, 1.4)
        ax.set_title(title, fontsize=7.5)
        ax.tick_params(labelsize=7)
        ax.grid(True, alpha=0.3)
    fig.suptitle(f"Grey: one seed (label), its two decoders at the same seed; red: mean over "
                 f"{len(seeds)} seeds", fontsize=8)
    ex09.save(fig, path)


def run(args):
    torch.set_flush_denormal(True)
    x_train, y_train, x_test, y_test = fashion_mnist.load(args)
    seeds = list(dict.fromkeys(args.seeds))
    options = {"epochs": args.epochs, "tsne_samples": args.tsne_samples}
    names = {(label, mode, seed): run_name(decoder, mode, seed) for label, decoder in
             DECODERS.items() for mode in MODES for seed in seeds}
    runs.ensure_runs(args, list(names.values()), args.jobs, options)
    dead = dead_starts(x_test, range(args.scan_seeds))
    noisy = add_white_noise(x_test, DEFAULT_NOISE_STD,
                            torch.Generator().manual_seed(TEST_NOISE_SEED))
    rows = []
    for (label, mode, seed), name in names.items():
        entry = runs.load_run(args.out_dir, name)
        runs.check_settings(args, name, entry["metrics"], options)
        h_train, _ = measures.codes_and_outputs(entry["model"], x_train)
        h_test, out = measures.codes_and_outputs(entry["model"], x_test)
        with torch.no_grad():
            denoised = entry["model"](noisy)
        rows.append({"decoder": label, "mode": mode, "seed": seed,
                     "test_mse": measures.mse(out, x_test.numpy()),
                     "knn5_accuracy": measures.knn_accuracy(h_train, y_train.numpy(), h_test,
                                                           y_test.numpy()),
                     "live_code_units": measures.active_units(h_test),
                     "dead_at_start": entry["metrics"].get("dead_at_start"),
                     "denoising_psnr_db": measures.psnr(denoised.numpy(), x_test.numpy())})
        print(f"measured {name}", flush=True)
    summary = {f"{label}, {mode}": {key: measures.spread([r[key] for r in rows if (r["decoder"], r[
        "mode"]) == (label, mode)]) for key in ("test_mse", "knn5_accuracy", "live_code_units",
                                               "denoising_psnr_db")}
        for label in DECODERS for mode in MODES}
    paired = {f"{mode}: {key}, mirrored minus printed": measures.spread([
        next(r[key] for r in rows if (r["decoder"], r["mode"], r["seed"]) == (
            list(DECODERS)[1], mode, s)) - next(
            r[key] for r in rows if (r["decoder"], r["mode"], r["seed"]) == (
                list(DECODERS)[0], mode, s)) for s in seeds])
        for mode in MODES for key in ("test_mse", "knn5_accuracy", "denoising_psnr_db")}
    args.out_dir.mkdir(parents=True, exist_ok=True)
    with publishing.staged(args.out_dir / "mirrored") as stage:
        plot(rows, seeds, stage / "mirrored.png")
        ex09.write_csv(rows, stage / "mirrored.csv")
        (stage / "mirrored.json").write_text(json.dumps({
            "seeds": seeds, "scan_seeds": args.scan_seeds, "dead_at_start": dead,
            "runs": {f"{k[0]}, {k[1]}, seed {k[2]}": v for k, v in names.items()},
            "rows": rows, "summary": summary, "paired_differences": paired}, indent=1) + "\n")
    for label, found in dead.items():
        print(f"{label}: seeds 0-{args.scan_seeds - 1} that start dead: {found}")
    for key, s in summary.items():
        print(f"{key:32s} test MSE {s['test_mse']['mean']:.4f} +- {s['test_mse']['sd']:.4f}  "
              f"5-NN {s['knn5_accuracy']['mean']:.3f}  PSNR {s['denoising_psnr_db']['mean']:.2f}")
    print(f"written to {args.out_dir / 'mirrored'}")
