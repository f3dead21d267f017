"""`python -m analyses compare`: numbers that answer "how well?" (Q2e) and "is it
different?" (Q3c), from the saved plain and denoise runs, next to obvious baselines.

Reads <out-dir>/plain/ and <out-dir>/denoise/ (and the linear-code variant's runs at seeds 0
and 1 and the seed-1 plain run, where they exist), recomputes codes and reconstructions from
the saved weights, and writes tables (JSON + CSV) and figures to <out-dir>/compare/. Takes
about a minute on 2 CPU cores, most of it the k-nearest-neighbour search on raw pixels.
"""

import json

import numpy as np
import torch

import ex09
import fashion_mnist
import publishing
from analyses.measures import (ACTIVE_FRACTION, KNN_K, PCA_COMPONENTS, active_units,
                               codes_and_outputs, embedding_scores, knn_accuracy, linear_cka, mse,
                               pca_codes, pca_fit, pca_reconstruct, per_class_mse, psnr,
                               varying_units)
from analyses.runs import load_run, require_runs, rerun_command
from noise import TEST_NOISE_SEED, add_white_noise

# The code-activation experiment, included where it was run: the sheet's ReLU code against a
# linear one at the default seed, and both again at seed 1 (tools/reproduce.py runs all four).
# Table label -> run folder.
OPTIONAL_RUNS = {"plain-linear-code": "variants/linear-code/seed0/plain",
                 "seed1/plain": "seed1/plain",
                 "seed1/plain-linear-code": "variants/linear-code/seed1/plain"}


# ----------------------------------------------------------------------------- figures

def plot_tsne_side_by_side(plain, denoise, path):
    plt = ex09._matplotlib()
    fig, axes = plt.subplots(1, 2, figsize=(12.5, 5.6))
    for ax, run, title in ((axes[0], plain, "Autoencoder (Q2e)"),
                           (axes[1], denoise, "Denoising autoencoder (Q3c)")):
        ex09.draw_tsne(ax, run["tsne"]["coords"], run["tsne"]["labels"],
                       f"{title}: t-SNE of the 8-d code")
    handles, names = axes[0].get_legend_handles_labels()
    fig.legend(handles, names, title="class", loc="lower center", ncol=10, fontsize=9,
               markerscale=1.5, bbox_to_anchor=(0.5, 0.0))
    fig.suptitle(f"The same {len(plain['tsne']['labels'])} test images (clean inputs), "
                 f"same colours", fontsize=11)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_loss_curves(runs, path):
    plt = ex09._matplotlib()
    fig, ax = plt.subplots(figsize=(7.0, 4.3))
    for run, colour in zip(runs, ("tab:blue", "tab:red")):
        rows = run["losses"]
        train = [(int(r["epoch"]), float(r["train_loss"])) for r in rows if r["train_loss"]]
        test = [(int(r["epoch"]), float(r["test_loss"])) for r in rows if r["test_loss"]]
        ax.plot(*zip(*train), "-", color=colour, label=f"{run['name']}: train")
        ax.plot(*zip(*test), "o:", color=colour, label=f"{run['name']}: test")
    ax.set_xlabel("epoch")
    ax.set_ylabel("MSE per pixel ([-1, 1] scale)")
    ax.set_yscale("log")
    ax.set_title("Loss per epoch (denoise: noisy input vs clean target)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_per_class(per_class, path):
    plt = ex09._matplotlib()
    fig, ax = plt.subplots(figsize=(9.0, 4.2))
    names = list(per_class)
    width = 0.8 / len(names)
    positions = np.arange(len(ex09.CLASS_NAMES))
    legend = {"plain": "autoencoder (Q2)", "denoise": "denoising autoencoder (Q3)",
              "PCA-8": "PCA with 8 components"}
    for i, (name, colour) in enumerate(zip(names, ("tab:blue", "tab:red", "tab:gray"))):
        ax.bar(positions + (i - (len(names) - 1) / 2) * width, per_class[name], width,
               label=legend.get(name, name), color=colour)
    ax.set_xticks(positions, ex09.CLASS_NAMES, rotation=20)
    ax.set_xlabel("class")
    ax.set_ylabel("test MSE per pixel (clean input)")
    ax.set_title("Reconstruction error per class")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# ----------------------------------------------------------------------------- tables

def format_table(rows, title):
    columns = list(rows[0])
    cells = [[f"{v:.4f}" if isinstance(v, float) else str(v) for v in r.values()] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    lines = [title, "  ".join(c.ljust(w) for c, w in zip(columns, widths))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in cells]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- main

def build_parser(parser):
    parser.add_argument("--out-dir", type=ex09.user_path, default=ex09.HERE / "figures",
                        help="reads the runs in <out-dir>/plain/, <out-dir>/denoise/ (and the "
                             "linear-code and seed1 runs, if there); writes <out-dir>/compare/")
    fashion_mnist.add_options(parser, ex09.positive_int, ex09.user_path)


def run(args):
    out_dir = args.out_dir
    require_runs(out_dir, ("plain", "denoise"))
    runs = {name: load_run(out_dir, name) for name in ("plain", "denoise")}
    for label, name in OPTIONAL_RUNS.items():
        if (out_dir / name / "metrics.json").exists():
            runs[label] = load_run(out_dir, name)
    for name in ("plain", "denoise"):
        if runs[name]["tsne"] is None:
            raise ex09.UsageError(f"the {name} run has no t-SNE map (--tsne-samples 0, or its "
                                  f"code collapsed); rerun it with t-SNE for compare:\n  "
                                  f"{rerun_command(out_dir, name)}")
    config = runs["denoise"]["metrics"]["config"]
    # The two are compared image for image and seed for seed: refuse a pair that is not one.
    plain_config = runs["plain"]["metrics"]["config"]
    differ = [f"{k} {plain_config.get(k)} (plain) vs {config.get(k)} (denoise)" for k in (
        "seed", "epochs", "batch_size", "lr", "weight_decay", "tsne_samples", "train_limit",
        "test_limit") if plain_config.get(k) != config.get(k)]
    if differ:
        raise ex09.UsageError(f"the plain and denoise runs in {out_dir} were made with other "
                              f"settings ({', '.join(differ)}); compare needs a matching pair, "
                              f"for example the plain run made again as the denoise run was:"
                              f"\n  {rerun_command(out_dir, 'plain', config | {'mode': 'plain'})}")
    x_train, y_train, x_test, y_test = fashion_mnist.load(args)
    y_train, y_test = y_train.numpy(), y_test.numpy()
    # The one fixed noisy copy of the test set that ex09.py's denoise runs are tested on.
    x_noisy = add_white_noise(x_test, config["noise_std"],
                              torch.Generator().manual_seed(TEST_NOISE_SEED))
    print(f"compare: {', '.join(runs)} on {len(x_train)} training / {len(x_test)} test images")

    mean, components = pca_fit(x_train.numpy(), PCA_COMPONENTS)
    pca = {"train_codes": pca_codes(x_train.numpy(), mean, components),
           "test_codes": pca_codes(x_test.numpy(), mean, components),
           "test_out": pca_reconstruct(x_test.numpy(), mean, components)}
    target = x_test.numpy()
    results = {}
    for name, entry in runs.items():
        h_train, _ = codes_and_outputs(entry["model"], x_train)
        h_test, out_clean = codes_and_outputs(entry["model"], x_test)
        _, out_noisy = codes_and_outputs(entry["model"], x_noisy)
        results[name] = {"h_train": h_train, "h_test": h_test,
                         "out_clean": out_clean, "out_noisy": out_noisy}

    reconstruction = [{"model": "PCA-8 (linear)", "test_mse": mse(pca["test_out"], target)}]
    reconstruction += [{"model": name, "test_mse": mse(r["out_clean"], target)}
                       for name, r in results.items()]
    per_class = {name: per_class_mse(results[name]["out_clean"], target, y_test)
                 for name in ("plain", "denoise")}
    per_class["PCA-8"] = per_class_mse(pca["test_out"], target, y_test)
    per_class_rows = [{"class": c, **{name: values[i] for name, values in per_class.items()}}
                      for i, c in enumerate(ex09.CLASS_NAMES)]
    denoising = [
        {"model": name, "mse_clean_input": mse(results[name]["out_clean"], target),
         "mse_noisy_input": mse(results[name]["out_noisy"], target),
         "psnr_noisy_input_db": psnr(results[name]["out_noisy"], target)}
        for name in ("plain", "denoise")]
    psnr_rows = {"noisy input itself": psnr(x_noisy.numpy(), target),
                 "plain AE fed the noisy input": denoising[0]["psnr_noisy_input_db"],
                 "denoising AE output": denoising[1]["psnr_noisy_input_db"]}

    codes = []
    for name, r in results.items():
        row = {"code": name, "dims": 8,
               "knn5_accuracy": knn_accuracy(r["h_train"], y_train, r["h_test"], y_test),
               "active_units": active_units(r["h_test"]),
               "varying_units": varying_units(r["h_test"]),
               "cka_vs_plain": linear_cka(r["h_test"], results["plain"]["h_test"])}
        no_map = {"trustworthiness": None, "silhouette_2d": None}  # t-SNE skipped in that run
        row.update(embedding_scores(runs[name]["tsne"]) if runs[name]["tsne"] else no_map)
        codes.append(row)
    codes.append({"code": "PCA-8", "dims": 8,
                  "knn5_accuracy": knn_accuracy(pca["train_codes"], y_train, pca["test_codes"],
                                                y_test),
                  "active_units": active_units(pca["test_codes"]),
                  "varying_units": varying_units(pca["test_codes"]),
                  "cka_vs_plain": linear_cka(pca["test_codes"], results["plain"]["h_test"]),
                  "trustworthiness": None, "silhouette_2d": None})
    codes.append({"code": "raw pixels", "dims": 784,
                  "knn5_accuracy": knn_accuracy(x_train.numpy(), y_train, target, y_test),
                  "active_units": None, "varying_units": None,
                  "cka_vs_plain": linear_cka(target, results["plain"]["h_test"]),
                  "trustworthiness": None, "silhouette_2d": None})

    with publishing.staged(out_dir / "compare") as stage:
        write_results(stage, runs, per_class, reconstruction, per_class_rows, denoising,
                      psnr_rows, codes, config, x_train, x_test)
    print_tables(reconstruction, denoising, psnr_rows, codes, per_class_rows, config)
    print(f"\nwritten to {out_dir / 'compare'}")


def write_results(stage, runs, per_class, reconstruction, per_class_rows, denoising, psnr_rows,
                  codes, config, x_train, x_test):
    plot_tsne_side_by_side(runs["plain"], runs["denoise"], stage / "tsne_side_by_side.png")
    plot_loss_curves([runs["plain"], runs["denoise"]], stage / "loss_curves.png")
    plot_per_class(per_class, stage / "per_class_mse.png")
    ex09.write_csv(reconstruction, stage / "reconstruction.csv")
    ex09.write_csv(per_class_rows, stage / "per_class_mse.csv")
    ex09.write_csv(denoising, stage / "denoising.csv")
    ex09.write_csv(codes, stage / "codes.csv")
    summary = {"reconstruction": reconstruction, "per_class_mse": per_class_rows,
               "denoising": denoising, "psnr_db": psnr_rows, "codes": codes,
               "noise_std": config["noise_std"], "test_noise_seed": TEST_NOISE_SEED,
               "knn_k": KNN_K, "pca_components": PCA_COMPONENTS,
               "active_fraction": ACTIVE_FRACTION,
               "train_images": len(x_train), "test_images": len(x_test)}
    (stage / "comparison.json").write_text(json.dumps(summary, indent=2) + "\n")


def print_tables(reconstruction, denoising, psnr_rows, codes, per_class_rows, config):
    print(format_table(reconstruction, "\nTest MSE on clean inputs ([-1, 1] scale)"))
    print(format_table(denoising, "\nMSE against the clean image, clean vs noisy input "
                                  f"(noise std {config['noise_std']})"))
    print("\nPSNR against the clean image (mean over test images)")
    for name, value in psnr_rows.items():
        print(f"  {name:30s} {value:6.2f} dB")
    print(format_table(codes, f"\nCode quality: {KNN_K}-NN accuracy (train codes -> test codes), "
                              f"active units (non-zero on >= {ACTIVE_FRACTION:.0%} of test "
                              f"images), linear CKA with the plain code, t-SNE "
                              f"trustworthiness and 2-D silhouette"))
    print(format_table(per_class_rows, "\nTest MSE per class"))
