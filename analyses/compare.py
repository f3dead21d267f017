"""`python -m analyses compare`: numbers that answer "how well?" (Q2e) and "is it
different?" (Q3c), from the saved plain and denoise runs, next to obvious baselines.

Reads <out-dir>/plain/ and <out-dir>/denoise/ (and the linear-code variant's runs at seeds 0
and 1 and the seed-1 plain run, where they exist), recomputes codes and reconstructions from
the saved weights, and writes tables (JSON + CSV) and figures to <out-dir>/compare/. Takes
about a minute on 2 CPU cores, most of it the k-nearest-neighbour search on raw pixels.
"""

import csv
import json
import math
import os
import statistics
import subprocess
import sys
import time

import numpy as np
import torch

import ex09
import fashion_mnist
import publishing
from analyses import variants
from noise import TEST_NOISE_SEED, add_white_noise

# The code-activation experiment, included where it was run: the sheet's ReLU code against a
# linear one at the default seed, and both again at seed 1 (tools/reproduce.py runs all four).
# Table label -> run folder.
OPTIONAL_RUNS = {"plain-linear-code": "variants/linear-code/seed0/plain",
                 "seed1/plain": "seed1/plain",
                 "seed1/plain-linear-code": "variants/linear-code/seed1/plain"}
PIXEL_RANGE = 2.0  # images live in [-1, 1]: the peak-to-peak value for PSNR
KNN_K = 5
PCA_COMPONENTS = 8  # the linear baseline with a code as wide as the autoencoder's
ACTIVE_FRACTION = 0.01  # a code unit counts as active if non-zero on >= 1% of test images


# ----------------------------------------------------------------------------- loading

def run_command(out_dir, name):
    """The arguments of `python ...`, from the project folder, that (re)make the run in
    out_dir/name: MODE and seedN/MODE are ex09.py's, variants/VARIANT/seedN/MODE (VARIANT may end
    in -sigmaS) are `python -m analyses variant`'s."""
    *path, mode = name.split("/")
    if path and path[0] == "variants":
        variant, _, sigma = path[1].partition("-sigma")
        seed, base = path[2].removeprefix("seed"), out_dir
        command = ["-m", "analyses", "variant", variant, "--mode", mode, "--seed", seed] + (
            ["--noise-std", sigma] if sigma else [])
    else:
        seed, base = (path[0].removeprefix("seed") if path else "0"), (out_dir / name).parent
        command = ["ex09.py", "--mode", mode] + (["--seed", seed] if seed != "0" else [])
    return command + ([] if base == ex09.HERE / "figures" else ["--out-dir", str(base)])


def rerun_command(out_dir, name, config=None):
    """The command that remakes run `name`; given that run's config, with its own settings."""
    command = run_command(out_dir, name)
    if isinstance(config, dict):
        defaults = vars(ex09.build_parser().parse_args([]))
        command += [f"--{k.replace('_', '-')}={config[k]}" for k in RUN_SETTINGS if k in config
                    and k not in ("mode", "variant") and config[k] != defaults.get(k)
                    and not (k == "noise_std" and config.get("mode") == "plain")
                    and f"--{k.replace('_', '-')}" not in command]
    return "python " + " ".join(command)


def run_config(out_dir, name):
    """The config in a run's metrics.json, or None if it cannot be read."""
    try:
        config = json.loads((out_dir / name / "metrics.json").read_text())["config"]
        return config if isinstance(config, dict) else None
    except (OSError, ValueError, TypeError, KeyError):
        return None


# The settings that make a run what it is: a finished run is reused only if all of them match.
RUN_SETTINGS = ("mode", "seed", "epochs", "batch_size", "lr", "weight_decay", "noise_std",
                "tsne_samples", "train_limit", "test_limit", "variant")


def run_arguments(args, name, options):
    """The full command line (after `python`) that makes run `name` with these data options."""
    return [*run_command(args.out_dir, name), "--data-dir", str(args.data_dir), "--mirror",
            args.mirror, *(f"--{k.replace('_', '-')}={v}" for k, v in options.items())] + [
        "--skip-md5"] * args.skip_md5 + [f"--{s}-limit={v}" for s in ("train", "test")
                                         if (v := getattr(args, f"{s}_limit"))]


def expected_settings(args, name, options):
    """The settings that run `name` made with `options` and these data options would have."""
    command = run_arguments(args, name, options)
    variant = command[3] if command[:3] == ["-m", "analyses", "variant"] else None
    expected = vars(ex09.build_parser().parse_args(command[command.index("--mode"):]))
    expected["variant"] = variant
    if expected["mode"] == "plain":
        expected.pop("noise_std")  # unused there
    return expected


def differences(config, expected):
    return [f"{k} {config.get(k)} (not {expected[k]})" for k in RUN_SETTINGS
            if k in expected and config.get(k) != expected[k]]


def settings_differ(args, name, options):
    """The settings in which the finished run `name` differs from what `name` with `options`
    would make ([] if none), or None if its metrics.json cannot be read (as good as not there)."""
    config = run_config(args.out_dir, name)
    return None if config is None else differences(config, expected_settings(args, name, options))


def check_settings(args, name, metrics, options):
    """Refuse a run whose settings, as read with the model that is used, are not the ones
    asked for (it may have been replaced after ensure_runs checked it)."""
    config = metrics.get("config") if isinstance(metrics, dict) else None
    differ = differences(config, expected_settings(args, name, options)) if isinstance(
        config, dict) else ["no config"]
    if differ:
        raise ex09.UsageError(f"{args.out_dir / name} holds a run made with other settings "
                              f"({', '.join(differ)}); redo it or choose another --out-dir:\n  "
                              f"{rerun_command(args.out_dir, name)}")


def seed_run(seed, mode):
    """The folder of the run of `mode` at `seed`: the default run at seed 0, else the seed
    study's (<out-dir>/seedN/MODE)."""
    return mode if seed == 0 else f"seed{seed}/{mode}"


def ensure_runs(args, names, jobs, options):
    """Train every run of `names` that is not there (or damaged), `jobs` at a time: on 2 cores
    two runs of one thread each finish sooner than one after the other with two (README). A
    finished run made with other settings is never overwritten: that is refused. Each run's
    output goes to <out-dir>/logs/. Returns the seconds taken."""
    todo = []
    for name in dict.fromkeys(names):
        differ = settings_differ(args, name, options)
        if differ is None:  # not there, or damaged: made (again)
            todo.append(name)
        elif differ:
            raise ex09.UsageError(f"{args.out_dir / name} holds a run made with other settings "
                                  f"({', '.join(differ)}); it is not overwritten: choose another "
                                  f"--out-dir, or move that run away")
    if todo:  # fetched once, here, not by every run at once
        fashion_mnist.ensure_files(args.data_dir, args.mirror)
    env = {**os.environ, **({"OMP_NUM_THREADS": "1"} if jobs > 1 else {})}
    (args.out_dir / "logs").mkdir(parents=True, exist_ok=True)
    running, started = [], time.perf_counter()
    try:
        while todo or running:
            while todo and len(running) < jobs:
                name = todo.pop(0)
                log = args.out_dir / "logs" / (name.replace("/", "_") + ".log")
                print(f"training {name} (its output: {log})", flush=True)
                with open(log, "w") as handle:
                    running.append((name, log, subprocess.Popen(
                        [sys.executable, *run_arguments(args, name, options)], cwd=ex09.HERE,
                        env=publishing.child_env(env), stdout=handle, stderr=subprocess.STDOUT)))
            time.sleep(0.5)
            for name, log, process in [r for r in running if r[2].poll() is not None]:
                running.remove((name, log, process))
                if process.returncode:
                    raise ex09.UsageError(f"the run {name} failed (exit {process.returncode}); "
                                          f"the end of {log}:\n{log.read_text()[-2000:]}")
    finally:  # on a failure, Ctrl+C or SIGTERM: the other runs stop and clean up too
        for *_, process in running:
            process.terminate()
        for *_, process in running:
            process.wait()
    return time.perf_counter() - started


def require_runs(out_dir, names):
    """Say at once, before any work, which of the needed runs is missing and how to make it."""
    missing = [name for name in names if not (out_dir / name / "metrics.json").exists()]
    if missing:
        commands = "\n  ".join(rerun_command(out_dir, name) for name in missing)
        raise ex09.UsageError(f"compare needs finished {' and '.join(missing)} run(s) in "
                              f"{out_dir}; run first:\n  {commands}")


def read_run_file(out_dir, name, file, reader):
    """reader(path), or a message that names the damaged or missing file and the run to redo."""
    path = out_dir / name / file
    try:
        return reader(path)
    except Exception as err:  # noqa: BLE001 - json, torch, numpy and csv each raise their own
        raise ex09.UsageError(f"{path} is missing or damaged ({type(err).__name__}: "
                              f"{str(err)[:200]}); redo that run:\n  "
                              f"{rerun_command(out_dir, name, run_config(out_dir, name))}"
                              ) from None


def finite_number(value, field, low=-np.inf):
    """A run file's number, or a ValueError that names its field (NaN, null, a string...)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
            math.isfinite(value) and value >= low):
        raise ValueError(f"{field} is {value!r}, not a finite number >= {low}")
    return value


def load_run(out_dir, name):
    """A finished run's metrics, losses, t-SNE codes and model."""
    def model_from(path):
        model = variants.build_model(metrics["config"].get("variant", "sheet"))()
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        return model.eval()

    def rows_from(path):  # epochs 0..E; a training loss after epoch 0, a test loss at 0 and E
        with open(path, newline="") as handle:
            rows = list(csv.DictReader(handle))
        if not rows or any(None in row or None in row.values() for row in rows):
            raise ValueError("rows missing or incomplete")
        if [r["epoch"] for r in rows] != [str(e) for e in range(len(rows))]:
            raise ValueError("the epochs are not 0, 1, 2, ... in order")
        for r in rows:
            epoch, last = int(r["epoch"]), int(r["epoch"]) == len(rows) - 1
            for key, needed in (("train_loss", epoch > 0), ("test_loss", epoch == 0 or last)):
                if r[key] or needed:
                    finite_number(float(r[key]) if r[key] else None, f"{key} at epoch {epoch}")
        return rows

    def tsne_from(path):
        if not path.exists():
            return None  # t-SNE skipped in that run; checked where it is needed
        with np.load(path) as arrays:
            tsne = {k: arrays[k] for k in ("indices", "labels", "codes", "coords")}
        n = len(tsne["labels"])
        for key, shape in (("indices", (n,)), ("labels", (n,)), ("codes", (n, None)),
                           ("coords", (n, 2))):
            if len(tsne[key].shape) != len(shape) or any(
                    want not in (None, got) for want, got in zip(shape, tsne[key].shape)):
                raise ValueError(f"{key} has shape {tsne[key].shape}, expected "
                                 f"{tuple('any' if w is None else w for w in shape)}")
            if not np.isfinite(tsne[key]).all():
                raise ValueError(f"{key} holds NaN or infinite values")
        if len(set(tsne["labels"].tolist())) < 2 or not set(tsne["labels"].tolist()) <= set(
                range(len(ex09.CLASS_NAMES))):
            raise ValueError(f"labels {sorted(set(tsne['labels'].tolist()))[:12]} are not "
                             f"at least two of the classes 0-9")
        return tsne

    def metrics_from(path):  # the fields the analyses use, of the right kind
        metrics = json.loads(path.read_text())
        config = metrics["config"]
        if metrics["mode"] not in ("plain", "denoise") or config["mode"] != metrics["mode"]:
            raise ValueError(f"mode is {metrics['mode']!r}, config.mode {config['mode']!r}")
        if not isinstance(config["seed"], int) or config["seed"] < 0:
            raise ValueError(f"config.seed is {config['seed']!r}, not a whole number >= 0")
        finite_number(config["noise_std"], "config.noise_std", 0)
        finite_number(metrics["final_test_loss"], "final_test_loss", 0)
        return metrics

    metrics = read_run_file(out_dir, name, "metrics.json", metrics_from)
    return {"name": name, "metrics": metrics,
            "model": read_run_file(out_dir, name, "model.pt", model_from),
            "losses": read_run_file(out_dir, name, "losses.csv", rows_from),
            "tsne": read_run_file(out_dir, name, "tsne_codes.npz", tsne_from)}


# ----------------------------------------------------------------------------- measures

def pca_fit(x, n_components):
    """Mean and top principal directions (rows) of x: the best linear code of that size."""
    x = np.asarray(x, dtype=np.float64)
    mean = x.mean(axis=0)
    centred = x - mean
    eigenvalues, eigenvectors = np.linalg.eigh(centred.T @ centred)
    order = np.argsort(eigenvalues)[::-1][:n_components]
    return mean, eigenvectors[:, order].T


def pca_codes(x, mean, components):
    return (np.asarray(x, dtype=np.float64) - mean) @ components.T


def pca_reconstruct(x, mean, components):
    return pca_codes(x, mean, components) @ components + mean


def mse(a, b):
    return float(np.mean((np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)) ** 2))


def psnr(estimate, target, peak_to_peak=PIXEL_RANGE):
    """Mean over images of the per-image PSNR in dB: 10 log10(range^2 / MSE of that image)."""
    err = np.mean((np.asarray(estimate, np.float64) - np.asarray(target, np.float64)) ** 2, axis=1)
    return float(np.mean(10 * np.log10(peak_to_peak ** 2 / np.maximum(err, 1e-12))))


def spread(values):
    """Mean, sd (0 for one value), min, max and n of a list of numbers: a result over seeds."""
    return {"mean": statistics.fmean(values), "sd": statistics.stdev(values) if len(values) > 1
            else 0.0, "min": min(values), "max": max(values), "n": len(values)}


def per_class_mse(estimate, target, labels):
    err = np.mean((np.asarray(estimate, np.float64) - np.asarray(target, np.float64)) ** 2, axis=1)
    return [float(err[labels == c].mean()) for c in range(len(ex09.CLASS_NAMES))]


def knn_accuracy(train_codes, train_labels, test_codes, test_labels, k=KNN_K):
    """Share of test images whose k nearest training codes vote for the right class."""
    from sklearn.neighbors import KNeighborsClassifier
    classifier = KNeighborsClassifier(n_neighbors=k, algorithm="brute", n_jobs=-1)
    classifier.fit(np.asarray(train_codes, np.float32), train_labels)
    return float(classifier.score(np.asarray(test_codes, np.float32), test_labels))


def active_units(codes, min_fraction=ACTIVE_FRACTION):
    """Number of code units that are non-zero on at least min_fraction of the images."""
    return int(np.sum(np.mean(np.asarray(codes) != 0, axis=0) >= min_fraction))


def varying_units(codes, min_std=1e-6):
    """Number of code units whose value changes from image to image at all. A linear code is
    never exactly zero, so 'active' says little there; a constant unit carries no information
    either way."""
    return int(np.sum(np.std(np.asarray(codes, np.float64), axis=0) > min_std))


def linear_cka(x, y):
    """Linear centred kernel alignment of two codes of the same images: 1 when one is a
    rotation and uniform scaling of the other (the same information, arranged the same way),
    near 0 for unrelated codes. Answers "is the code different?" beyond a picture."""
    x = np.asarray(x, np.float64) - np.mean(x, axis=0)
    y = np.asarray(y, np.float64) - np.mean(y, axis=0)
    denominator = np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y)
    return float(np.linalg.norm(y.T @ x) ** 2 / denominator) if denominator > 0 else 0.0


def embedding_scores(tsne):
    """How faithful the 2-D t-SNE map is (trustworthiness) and how well classes separate in it."""
    from sklearn.manifold import trustworthiness
    from sklearn.metrics import silhouette_score
    return {"trustworthiness": float(trustworthiness(tsne["codes"], tsne["coords"],
                                                     n_neighbors=KNN_K)),
            "silhouette_2d": float(silhouette_score(tsne["coords"], tsne["labels"]))}


@torch.no_grad()
def codes_and_outputs(model, x):
    h = model.f(x)
    return h.numpy(), model.g(h).numpy()


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
