"""Write report/numbers.tex: every number the report cites, as LaTeX macros and table rows,
generated from the JSON/CSV files the runs wrote. Nothing in the report is typed by hand.

    python report/make_numbers.py            # reads figures/ and benchmarks/results/
"""

import argparse
import csv
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


def load_json(path):
    return json.loads(Path(path).read_text())


def load_csv(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def f4(x):
    return f"{x:.4f}"


def f3(x):
    return f"{x:.3f}"


def f2(x):
    return f"{x:.2f}"


def f1(x):
    return f"{x:.1f}"


def pct(x):
    return f"{100 * x:.1f}\\,\\%"


def tex_escape(text):
    return str(text).replace("_", "\\_").replace("%", "\\%").replace("&", "\\&")


def time_to_plateau(rows, variant, plateau, tolerance=1.01):
    """Training seconds and samples until the subset loss first comes within 1% of the
    mean-image loss (the plateau all plain-SGD variants reach)."""
    for row in rows:
        if row["variant"] == variant and float(row["subset_loss"]) <= tolerance * plateau:
            return float(row["seconds"]), int(row["samples"])
    return None, None


def collect(root=ROOT):
    """All macros as an ordered dict name -> text, and the generated tables as name -> rows."""
    fig = root / "figures"
    runs = {name: load_json(fig / name / "metrics.json")
            for name in ("plain", "denoise", "plain-linear-code")}
    losses = {name: load_csv(fig / name / "losses.csv") for name in ("plain", "denoise")}
    comp = load_json(fig / "compare" / "comparison.json")
    q1 = load_json(fig / "q1" / "q1_results.json")
    q1_rows = load_csv(fig / "q1" / "q1_curves.csv")
    bench = load_json(root / "benchmarks" / "results" / "bench.json")

    m = {}
    for key, name in (("Plain", "plain"), ("Denoise", "denoise"), ("Linear", "plain-linear-code")):
        r = runs[name]
        m[f"{key}FinalTrain"] = f4(r["final_train_loss"])
        m[f"{key}FinalTest"] = f4(r["final_test_loss"])
        m[f"{key}InitialTest"] = f4(r["test_loss_by_epoch"]["0"])
        m[f"{key}Seconds"] = f"{r['seconds']['training_and_evaluation']:.0f}"
        m[f"{key}EpochMedian"] = f2(r["seconds"]["train_epoch_median"])
        m[f"{key}Drift"] = f2(r["epoch_time_drift"])
        m[f"{key}TsneSeconds"] = f1(r["seconds"]["tsne"])
    plain = runs["plain"]
    cfg = plain["config"]
    m["Epochs"] = str(cfg["epochs"])
    m["BatchSize"] = str(cfg["batch_size"])
    m["LearningRate"] = f"{cfg['lr']:g}"
    m["WeightDecay"] = f"{cfg['weight_decay']:g}"
    m["Seed"] = str(cfg["seed"])
    m["TsneSamples"] = str(cfg["tsne_samples"])
    m["NoiseStd"] = f"{runs['denoise']['config']['noise_std']:g}"
    m["NoiseStdUnit"] = f"{runs['denoise']['config']['noise_std'] / 2:g}"
    m["TorchVersion"] = tex_escape(plain["versions"]["torch"])
    m["PythonVersion"] = plain["versions"]["python"]
    m["NumpyVersion"] = plain["versions"]["numpy"]
    m["SklearnVersion"] = plain["versions"]["scikit-learn"]
    m["MatplotlibVersion"] = plain["versions"]["matplotlib"]
    m["Threads"] = str(plain["torch_threads"])
    m["CpuModel"] = tex_escape(bench["machine"]["cpu"])

    recon = {r["model"]: r["test_mse"] for r in comp["reconstruction"]}
    m["PcaMse"] = f4(recon["PCA-8 (linear)"])
    m["PlainMse"] = f4(recon["plain"])
    m["DenoiseCleanMse"] = f4(recon["denoise"])
    m["LinearMse"] = f4(recon["plain-linear-code"])
    m["PlainOverPca"] = f2(recon["plain"] / recon["PCA-8 (linear)"])
    den = {r["model"]: r for r in comp["denoising"]}
    m["PlainNoisyMse"] = f4(den["plain"]["mse_noisy_input"])
    m["DenoiseNoisyMse"] = f4(den["denoise"]["mse_noisy_input"])
    psnr = comp["psnr_db"]
    m["PsnrNoisy"] = f1(psnr["noisy input itself"])
    m["PsnrPlain"] = f1(psnr["plain AE fed the noisy input"])
    m["PsnrDenoise"] = f1(psnr["denoising AE output"])
    m["PsnrGain"] = f1(psnr["denoising AE output"] - psnr["noisy input itself"])
    codes = {r["code"]: r for r in comp["codes"]}
    for key, name in (("Plain", "plain"), ("Denoise", "denoise"), ("Linear", "plain-linear-code"),
                      ("Pca", "PCA-8"), ("Pixels", "raw pixels")):
        m[f"{key}Knn"] = pct(codes[name]["knn5_accuracy"])
    for key, name in (("Plain", "plain"), ("Denoise", "denoise"), ("Linear", "plain-linear-code")):
        m[f"{key}Active"] = str(codes[name]["active_units"])
    for key, name in (("Plain", "plain"), ("Denoise", "denoise")):  # runs with a t-SNE map
        m[f"{key}Trust"] = f3(codes[name]["trustworthiness"])
        m[f"{key}Silhouette"] = f3(codes[name]["silhouette_2d"])
    m["DenoiseCka"] = f2(codes["denoise"]["cka_vs_plain"])
    m["PcaCka"] = f2(codes["PCA-8"]["cka_vs_plain"])
    m["SeedOneCka"] = f2(codes["seed1/plain"]["cka_vs_plain"])
    m["LinearVarying"] = str(codes["plain-linear-code"]["varying_units"])
    for key, name in (("SeedOnePlain", "seed1/plain"), ("SeedOneLinear", "seed1/plain-linear-code")):
        m[f"{key}Mse"] = f4(recon[name])
        m[f"{key}Knn"] = pct(codes[name]["knn5_accuracy"])
        m[f"{key}Active"] = str(codes[name]["active_units"])
    per_class = comp["per_class_mse"]
    worst = max(per_class, key=lambda r: r["plain"])
    best = min(per_class, key=lambda r: r["plain"])
    m["WorstClass"], m["WorstClassMse"] = tex_escape(worst["class"]), f4(worst["plain"])
    m["BestClass"], m["BestClassMse"] = tex_escape(best["class"]), f4(best["plain"])

    plateau = q1["mean_image_loss"]
    m["QOneSubset"] = str(q1["subset"])
    m["QOneFullOverSubset"] = f"{60000 / q1['subset']:g}"
    m["QOneBudget"] = f"{q1['seconds_budget']:g}"
    m["QOnePilotBatch"], m["QOnePilotMini"], m["QOnePilotSgd"] = map(str, q1["pilot_steps"])
    to_plateau = {name: time_to_plateau(q1_rows, name, plateau) for name in q1["variants"]}
    reached = {name: v for name, v in to_plateau.items() if v[0] is not None}
    # Which variant got there first, per second and per sample: the text states what the
    # files say, whichever way a rerun on another machine comes out.
    m["QOneFirstBySeconds"] = min(reached, key=lambda n: reached[n][0]) if reached else "none"
    m["QOneSgdSlowdown"] = f"{q1['variants']['mini-batch']['samples_per_second'] / q1['variants']['stochastic']['samples_per_second']:.0f}"
    m["QOneFirstBySamples"] = min(reached, key=lambda n: reached[n][1]) if reached else "none"
    m["QOneGrid"] = ", ".join(f"{lr:g}" for lr in q1["lr_grid"])
    m["QOnePlateau"] = f4(plateau)
    for key, name in (("Batch", "batch"), ("Mini", "mini-batch"), ("Sgd", "stochastic")):
        v = q1["variants"][name]
        m[f"QOne{key}Lr"] = f"{v['lr']:g}"
        m[f"QOne{key}Steps"] = f"{v['steps']:,}".replace(",", "\\,")
        m[f"QOne{key}Rate"] = f"{v['samples_per_second']:,.0f}".replace(",", "\\,")
        m[f"QOne{key}Final"] = f4(v["final_loss"])
        seconds, samples = time_to_plateau(q1_rows, name, plateau)
        m[f"QOne{key}PlateauSeconds"] = "--" if seconds is None else f2(seconds)
        m[f"QOne{key}PlateauSamples"] = "--" if samples is None else f"{samples:,}".replace(",", "\\,")

    m["BenchFloor"] = f2(bench["floor_s"])
    m["BenchFloorDefaultAdam"] = f2(bench["floor_default_adam_s"])
    m["BenchFloorOneThread"] = f2(bench["floor_one_thread_s"])
    m["BenchProject"] = f2(bench["project_s"])
    m["BenchProjectOverFloor"] = f2(bench["project_s"] / bench["floor_s"])
    m["BenchTutorial"] = f2(bench["tutorial_s"])
    m["BenchTutorialOverProject"] = f1(bench["tutorial_s"] / bench["project_s"])
    m["BenchDrift"] = f2(bench["drift"]["late_over_early_vs_control"])
    m["BenchDriftRaw"] = f2(bench["drift"]["late_over_early"])
    m["BenchDriftNoFlush"] = f2(bench["drift_without_flush_denormal"]["late_over_early_vs_control"])
    m["BenchRss"] = f"{bench['plain_run']['peak_rss_mb']:.0f}"

    tables = {}
    rows = []
    by_epoch = {name: {int(r["epoch"]): r for r in losses[name]} for name in losses}
    for epoch in sorted(e for e, r in by_epoch["plain"].items() if r["test_loss"]):
        cells = [str(epoch)]
        for name in ("plain", "denoise"):
            r = by_epoch[name][epoch]
            cells += [f4(float(r["train_loss"])) if r["train_loss"] else "--", f4(float(r["test_loss"]))]
        rows.append(cells)
    tables["LossTableRows"] = rows
    labels = {"plain": "autoencoder (Q2)", "denoise": "denoising AE (Q3)",
              "plain-linear-code": "AE, linear code", "seed1/plain": "autoencoder, seed 1",
              "seed1/plain-linear-code": "AE, linear code, seed 1", "PCA-8": "PCA-8",
              "raw pixels": "raw pixels"}

    def opt(value, fmt):
        return "--" if value is None else fmt(value)

    tables["CodesTableRows"] = [
        [labels[r["code"]], str(r["dims"]), pct(r["knn5_accuracy"]), opt(r["active_units"], str),
         opt(r["varying_units"], str), f2(r["cka_vs_plain"]), opt(r["trustworthiness"], f3),
         opt(r["silhouette_2d"], f3)]
        for r in comp["codes"] if not r["code"].startswith("seed1") and "linear" not in r["code"]]
    tables["ReluTableRows"] = [
        [labels[name], str(seed), str(codes[name]["active_units"]),
         str(codes[name]["varying_units"]), f4(recon[name]), pct(codes[name]["knn5_accuracy"])]
        for name, seed in (("plain", 0), ("plain-linear-code", 0), ("seed1/plain", 1),
                           ("seed1/plain-linear-code", 1))]
    tables["PerClassRows"] = [[tex_escape(r["class"]), f4(r["PCA-8"]), f4(r["plain"]), f4(r["denoise"])]
                              for r in per_class]
    per_epoch = [[r["epoch"], f4(float(r["train_loss"])),
                  f4(float(by_epoch["denoise"][int(r["epoch"])]["train_loss"]))]
                 for r in losses["plain"] if r["train_loss"]]
    half = (len(per_epoch) + 1) // 2  # two blocks side by side keep the table on one page
    tables["TrainLossRows"] = [left + (per_epoch[i + half] if i + half < len(per_epoch) else ["", "", ""])
                               for i, left in enumerate(per_epoch[:half])]
    return m, tables


def render(macros, tables):
    lines = ["% Generated by report/make_numbers.py from the files the runs wrote. Do not edit."]
    for name, value in macros.items():
        lines.append(f"\\newcommand{{\\{name}}}{{{value}}}")
    for name, rows in tables.items():
        body = " \\\\\n".join(" & ".join(cells) for cells in rows) + " \\\\"
        lines.append(f"\\newcommand{{\\{name}}}{{%\n{body}}}")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Write report/numbers.tex (LaTeX macros) from the JSON/CSV files that the "
                    "runs, the analyses and the benchmark wrote under figures/ and "
                    "benchmarks/results/.")
    parser.add_argument("root", nargs="?", type=Path, default=ROOT,
                        help="the project folder to read and write (default: this one)")
    root = parser.parse_args(argv).root
    out = root / "report" / "numbers.tex"
    out.write_text(render(*collect(root)))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
