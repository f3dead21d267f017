"""Write report/numbers.tex: every number the report cites, as LaTeX macros and table rows,
generated from the JSON/CSV files the runs wrote. Nothing in the report is typed by hand.

    python report/make_numbers.py            # reads figures/ and benchmarks/results/
"""

import argparse
import csv
import json
import math
import statistics
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


def sci(x):
    """1.2e-03 as LaTeX: $1.2\\cdot10^{-3}$."""
    mantissa, exponent = f"{x:.1e}".split("e")
    return f"${mantissa}\\cdot10^{{{int(exponent)}}}$"


def spread(s, fmt):
    """mean +- sd [min, max] of a summary from the seed study."""
    return f"{fmt(s['mean'])}~$\\pm$~{fmt(s['sd'])} [{fmt(s['min'])}, {fmt(s['max'])}]"


def mean_sd(s, fmt):
    return f"{fmt(s['mean'])}~$\\pm$~{fmt(s['sd'])}"


def q1_numbers(q1):
    m = {"QOneSubset": str(q1["subset"]), "QOneSeconds": f"{q1['seconds_budget']:g}",
         "QOneFloorSeconds": f"{q1['floor_seconds']:g}", "QOneSeeds": str(q1["seeds"]),
         "QOneOptimum": f4(q1["optimum_loss"]), "QOneTuningSeed": str(q1["tuning_seed"])}
    v = q1["variants"]
    for key, name in (("Batch", "batch"), ("Mini", "mini-batch"), ("Sgd", "stochastic")):
        m[f"QOne{key}Lr"] = f"{v[name]['lr']:g}"
        m[f"QOne{key}Excess"] = sci(statistics.median(v[name]["final_excess"]))
        m[f"QOne{key}ExcessRange"] = (f"{sci(min(v[name]['final_excess']))}--"
                                      f"{sci(max(v[name]['final_excess']))}")
        m[f"QOne{key}Floor"] = sci(statistics.median(v[name]["floor_excess"]))
        m[f"QOne{key}Rate"] = f"{v[name]['samples_per_second']:,.0f}".replace(",", "\\,")
        m[f"QOne{key}Steps"] = f"{statistics.median(v[name]['steps']):,.0f}".replace(",", "\\,")
    larger = [loss for lr, loss in v["batch"]["tuning_final_loss"].items()
              if float(lr) > v["batch"]["lr"]]
    m["QOneDivergeNote"] = ("the next larger learning rate of the grid diverged"
                            if larger and math.isinf(min(larger)) else
                            "a larger one did worse in tuning")
    floors = {name: statistics.median(v[name]["floor_excess"]) for name in v}
    m["QOneFloorRatio"] = f"{floors['stochastic'] / floors['mini-batch']:.0f}"
    # Step times in the training loop, from its throughput (panel (e) times isolated steps).
    mini_step, one_step, full_step = (v[name]["batch_size"] / v[name]["samples_per_second"]
                                      for name in ("mini-batch", "stochastic", "batch"))
    m["QOneStepMiniMs"], m["QOneStepOneMs"] = f2(1e3 * mini_step), f2(1e3 * one_step)
    m["QOneStepFullMs"] = f1(1e3 * full_step)
    m["QOneSgdSlowdown"] = f"{one_step / (mini_step / v['mini-batch']['batch_size']):.0f}"
    rows = [r for point in q1["gradient_noise"].values() for r in point if r["exact_noise"] > 0]
    worst = max(abs(r["measured_noise"] / r["exact_noise"] - 1) for r in rows)
    m["QOneNoiseAgreement"] = f"{math.ceil(1000 * worst) / 10:.1f}"
    start = q1["gradient_noise"]["start"]
    m["QOneNoiseOverSignal"] = f"{start[0]['exact_noise'] / start[0]['full_gradient_sq']:.1f}"
    m["QOneNoiseBelowSignalB"] = str(min(r["batch_size"] for r in start
                                         if r["exact_noise"] < r["full_gradient_sq"]))
    return m


def collect(root=ROOT):
    """All macros as an ordered dict name -> text, and the generated tables as name -> rows."""
    fig = root / "figures"
    runs = {name: load_json(fig / folder / "metrics.json") for name, folder in (
        ("plain", "plain"), ("denoise", "denoise"),
        ("plain-linear-code", "variants/linear-code/seed0/plain"))}
    losses = {name: load_csv(fig / name / "losses.csv") for name in ("plain", "denoise")}
    comp = load_json(fig / "compare" / "comparison.json")
    q1 = load_json(fig / "q1" / "q1_results.json")
    seeds = load_json(fig / "seeds" / "seeds.json")
    revival = load_json(fig / "revival" / "revival.json")
    den = load_json(fig / "denoisers" / "denoisers.json")
    bench = load_json(root / "benchmarks" / "results" / "bench.json")
    times = load_json(fig / "reproduce_times.json")

    m = {}
    for key, name in (("Plain", "plain"), ("Denoise", "denoise"), ("Linear", "plain-linear-code")):
        r = runs[name]
        m[f"{key}FinalTrain"] = f4(r["final_train_loss"])
        m[f"{key}FinalTest"] = f4(r["final_test_loss"])
        m[f"{key}InitialTest"] = f4(r["test_loss_by_epoch"]["0"])
        m[f"{key}Seconds"] = f"{r['seconds']['training_and_evaluation']:.0f}"
        m[f"{key}EpochMedian"] = f2(r["seconds"]["train_epoch_median"])
    plain = runs["plain"]
    cfg = plain["config"]
    m["Epochs"] = str(cfg["epochs"])
    m["BatchSize"] = str(cfg["batch_size"])
    m["LearningRate"] = f"{cfg['lr']:g}"
    m["WeightDecay"] = f"{cfg['weight_decay']:.0e}".replace("e-0", "e-")
    m["Seed"] = str(cfg["seed"])
    m["TsneSamples"] = str(cfg["tsne_samples"])
    m["NoiseStd"] = f"{runs['denoise']['config']['noise_std']:g}"
    m["NoiseStdUnit"] = f"{runs['denoise']['config']['noise_std'] / 2:g}"
    m["TestNoiseSeed"] = str(runs["denoise"]["test_noise_seed"])
    m["PlainLiveFinal"] = str(plain["health_by_epoch"][str(cfg["epochs"])]["live_code_units"])
    m["PlainDeadCodeAtStart"] = str(8 - plain["health_by_epoch"]["0"]["live_code_units"])
    m["TorchVersion"] = tex_escape(plain["versions"]["torch"])
    m["PythonVersion"] = plain["versions"]["python"]
    m["Threads"] = str(plain["torch_threads"])
    m["CpuModel"] = tex_escape(bench["machine"]["cpu"])
    # tools/reproduce.py: every step before the report's numbers, the benchmark (alone) aside.
    m["RegenJobs"] = str(times["jobs"])
    seconds = max(t for step, t in times["finished_at_seconds"].items()
                  if step not in ("numbers", "report")) - times["step_seconds"].get("benchmark", 0)
    m["RegenMinutes"] = f"{seconds / 60:.0f}"

    recon = {r["model"]: r["test_mse"] for r in comp["reconstruction"]}
    codes = {r["code"]: r for r in comp["codes"]}
    m["PixelsKnn"] = pct(codes["raw pixels"]["knn5_accuracy"])
    m["LinearMse"] = f4(recon["plain-linear-code"])
    m["SeedOnePlainMse"] = f4(recon["seed1/plain"])
    m["SeedOneLinearMse"] = f4(recon["seed1/plain-linear-code"])
    m["SeedOneLinearActive"] = str(codes["seed1/plain-linear-code"]["active_units"])

    m.update(q1_numbers(q1))

    variants = list(revival["variants"].values())
    m["RevivalLastSeed"] = str(revival["scanned_seeds"] - 1)
    m["RevivalDead"] = ", ".join(map(str, revival["dead_seeds"])) or "none"
    m["RevivalAdamStep"] = str(variants[0]["first_step_with_a_live_decoder_unit"])
    m["RevivalSteps"] = f"{revival['epochs'] * revival['steps_per_epoch']:,}".replace(",", "\\,")
    m["RevivalSgdLr"] = f"{variants[2]['lr']:g}"
    m["RevivalLogEvery"] = str(revival["log_every"])
    m["RevivalProbe"] = f"{revival['probe_images']:,}".replace(",", "\\,")

    summary = seeds["summary"]
    m["SeedsN"] = str(len(seeds["seeds"]))
    m["SeedsList"] = f"{min(seeds['seeds'])}--{max(seeds['seeds'])}"
    models = (("Plain", "plain"), ("PlainNoisy", "plain (noisy input)"), ("Denoise", "denoise"),
              ("DenoiseNoisy", "denoise (noisy input)"), ("Pca", "PCA-8"),
              ("PcaNoisy", "PCA-8 (noisy input)"))
    metrics = (("Mse", "test_mse", f4), ("Knn", "knn5_accuracy", lambda x: f"{100 * x:.1f}"),
               ("Live", "live_units", f1), ("Trust", "trustworthiness", f3),
               ("Sil", "silhouette_2d", f3))
    for key, model in models:
        for suffix, metric, fmt in metrics:
            s = summary[model][metric]
            m[f"Seeds{key}{suffix}"] = (fmt(s["mean"]) + ("\\,\\%" if suffix == "Knn" else "")
                                        if s["sd"] == 0 else spread(s, fmt))
    cka = {k: v for k, v in summary["CKA"].items()}
    m["SeedsCkaSame"] = spread(cka["plain vs denoise, same seed"], f2)
    m["SeedsCkaPlain"] = spread(cka["plain vs plain, two seeds"], f2)
    m["SeedsCkaDenoise"] = spread(cka["denoise vs denoise, two seeds"], f2)
    m["SeedsDead"] = ", ".join(str(r["seed"]) for r in seeds["rows"]
                               if r["model"] == "plain" and r["dead_at_start"])

    m.update(denoiser_numbers(den))
    m["RevivalEpochs"] = str(revival["epochs"])
    m["RevivalSgdDecayStep"] = sci(variants[2]["lr"] * variants[2]["weight_decay"])
    m["SeedsCkaPairs"] = str(cka["plain vs plain, two seeds"]["n"])
    seed0_map = next(r for r in seeds["rows"] if r["model"] == "plain" and r["seed"] == int(cfg["seed"]))
    for name in ("Sneaker", "Trouser"):
        m[f"MapSil{name}"] = f2(seed0_map["silhouette_2d_per_class"][CLASS_NAMES.index(name)])
    knn_class = {r["class"]: r["knn5_per_class"] for r in seeds["per_class"] if r["model"] == "plain"}
    for key, names in (("Mixed", ("Shirt", "Coat", "Pullover")), ("Clear", ("Trouser", "Bag", "Ankle boot"))):
        values = [100 * knn_class[n] for n in names]
        m[f"Knn{key}Range"] = f"{min(values):.1f}--{max(values):.1f}"
    by_seed = {(r["model"], r["seed"]): r for r in seeds["rows"]}

    def seeds_where(name, better):
        c = CLASS_NAMES.index(name)
        return str(sum(better(by_seed[("denoise", s)]["silhouette_2d_per_class"][c],
                              by_seed[("plain", s)]["silhouette_2d_per_class"][c])
                       for s in seeds["seeds"]))
    m["SandalBetterSeeds"] = seeds_where("Sandal", lambda d, p: d > p)
    m["BootBetterSeeds"] = seeds_where("Ankle boot", lambda d, p: d > p)
    m["SneakerWorseSeeds"] = seeds_where("Sneaker", lambda d, p: d < p)
    for key, model in (("Plain", "plain"), ("Denoise", "denoise")):
        drops = [100 * (by_seed[(model, s)]["knn5_accuracy"]
                        - by_seed[(f"{model} (noisy input)", s)]["knn5_accuracy"])
                 for s in seeds["seeds"]]
        m[f"KnnDrop{key}"] = f"{statistics.fmean(drops):.1f}~$\\pm$~{statistics.stdev(drops):.1f}"

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
    labels = {"plain": "AE", "plain (noisy input)": "AE (noisy)", "denoise": "DAE",
              "denoise (noisy input)": "DAE (noisy)", "PCA-8": "PCA-8",
              "PCA-8 (noisy input)": "PCA-8 (noisy)"}
    tables["SeedsTableRows"] = [
        [labels[model]] + [mean_sd(summary[model][metric], fmt) if summary[model][metric]["sd"]
                           else fmt(summary[model][metric]["mean"])
                           for _, metric, fmt in metrics]
        for _, model in models]
    per_class = {(r["model"], r["class"]): r for r in seeds["per_class"]}
    seed0 = next(r for r in seeds["rows"] if r["model"] == "plain" and r["seed"] == int(cfg["seed"]))
    tables["PerClassRows"] = [
        [tex_escape(name)] + [pct(per_class[(model, name)]["knn5_per_class"]).replace("\\,\\%", "")
                              for model in ("plain", "denoise", "denoise (noisy input)", "PCA-8")]
        + [f2(seed0["silhouette_2d_per_class"][c])]
        + [f2(per_class[(model, name)]["silhouette_2d_per_class"]) for model in ("plain", "denoise")]
        for c, name in enumerate(CLASS_NAMES)]
    tables["DenoiseTableRows"] = denoise_table(den)
    per_epoch = [[r["epoch"], f4(float(r["train_loss"])),
                  f4(float(by_epoch["denoise"][int(r["epoch"])]["train_loss"]))]
                 for r in losses["plain"] if r["train_loss"]]
    half = (len(per_epoch) + 1) // 2  # two blocks side by side keep the table on one page
    tables["TrainLossRows"] = [left + (per_epoch[i + half] if i + half < len(per_epoch) else ["", "", ""])
                               for i, left in enumerate(per_epoch[:half])]
    return m, tables


FILTER_NAMES = ("Gaussian", "median", "total variation", "non-local means", "wavelet (BayesShrink)")


def denoiser_rows(den, sigma):
    """The rows at one noise level: every DAE seed folded into one entry (mean over seeds)."""
    rows = [r for r in den["rows"] if r["sigma"] == sigma]
    daes = [r for r in rows if r["method"].startswith("DAE (seed")]
    merged = [r for r in rows if r not in daes and not r["method"].startswith("DAE trained")]
    if daes:
        merged.append({"method": "DAE", "seeds": daes, **{
            key: statistics.fmean(r[key] for r in daes) for key in ("psnr_db", "ssim", "mse")}})
    return sorted(merged, key=lambda r: -r["psnr_db"])


def denoise_table(den):
    sigma = 0.5
    table = []
    for place, r in enumerate(denoiser_rows(den, sigma), 1):
        name = {"DAE": "\\textbf{DAE (the sheet's)}", "noisy input (no denoising)": "noisy input itself",
                "plain AE fed the noisy input (seed 0)": "AE (Q2), noisy input, seed 0"}.get(
            r["method"], tex_escape(r["method"]))
        parameter = "" if not r.get("parameter") else f"{tex_escape(r['parameter'])} = {r['value']:g}"
        if "seeds" in r:
            psnr = [s["psnr_db"] for s in r["seeds"]]
            ssim = [s["ssim"] for s in r["seeds"]]
            cells = [f"{f2(r['psnr_db'])}~$\\pm$~{f2(statistics.stdev(psnr))}",
                     f"{f3(r['ssim'])}~$\\pm$~{f3(statistics.stdev(ssim))}"]
            parameter = f"{len(psnr)} seeds, PSNR {f2(min(psnr))}--{f2(max(psnr))}"
        else:
            cells = [f2(r["psnr_db"]), f3(r["ssim"])]
        table.append([str(place), name, parameter, *cells, f4(r["mse"])])
    return table


def denoiser_numbers(den):
    m = {"TuneImages": f"{den['tune_images']:,}".replace(",", "\\,"),
         "SweepSeed": str(den["sweep_seed"])}
    rows = denoiser_rows(den, 0.5)
    names = [r["method"] for r in rows]
    dae = rows[names.index("DAE")]
    filters = [r for r in rows if r["method"] in FILTER_NAMES]
    best = max(filters, key=lambda r: r["psnr_db"])
    best_ssim = max(rows, key=lambda r: r["ssim"])
    m["DaeRank"], m["DaeOf"] = str(names.index("DAE") + 1), str(len(rows))
    m["DaePsnr"], m["DaeSsim"] = f2(dae["psnr_db"]), f3(dae["ssim"])
    m["DaeBestSeedPsnr"] = f2(max(s["psnr_db"] for s in dae["seeds"]))
    m["DaeWorstSeedPsnr"] = f2(min(s["psnr_db"] for s in dae["seeds"]))
    m["DaeSeedZeroPsnr"] = f2(next(s["psnr_db"] for s in dae["seeds"] if s["method"] == "DAE (seed 0)"))
    m["DaeSeedsAboveBestFilter"] = str(sum(s["psnr_db"] > best["psnr_db"] for s in dae["seeds"]))
    m["BestFilter"], m["BestFilterPsnr"] = best["method"], f2(best["psnr_db"])
    m["BestFilterSsim"] = f3(best["ssim"])
    m["BestSsimMethod"], m["BestSsim"] = tex_escape(best_ssim["method"]), f3(best_ssim["ssim"])
    pca = max((r for r in rows if r["method"].startswith("PCA-")), key=lambda r: r["psnr_db"])
    m["BestPca"], m["BestPcaPsnr"] = pca["method"], f2(pca["psnr_db"])
    m["NoisyPsnr"] = f2(rows[names.index("noisy input (no denoising)")]["psnr_db"])
    m["PlainNoisyPsnr"] = f2(rows[names.index("plain AE fed the noisy input (seed 0)")]["psnr_db"])
    for key, sigma in (("Low", 0.2), ("High", 1.0)):
        at = [r for r in den["rows"] if r["sigma"] == sigma]
        dae_at = next(r for r in at if r["method"].startswith("DAE trained"))
        best_at = max((r for r in at if r["method"] in FILTER_NAMES), key=lambda r: r["psnr_db"])
        m[f"Sweep{key}Sigma"] = f"{sigma:g}"
        m[f"Sweep{key}Dae"] = f2(dae_at["psnr_db"])
        m[f"Sweep{key}Filter"], m[f"Sweep{key}FilterPsnr"] = best_at["method"], f2(best_at["psnr_db"])
        m[f"Sweep{key}Noisy"] = f2(next(r for r in at if r["method"].startswith("noisy"))["psnr_db"])
    widths = {r["width"]: r for r in den["widths"]}
    words = {8: "Eight", 16: "Sixteen", 32: "ThirtyTwo", 64: "SixtyFour"}  # no digits in a macro
    for w, r in widths.items():
        if w in words:
            m[f"Width{words[w]}Psnr"], m[f"Width{words[w]}Ssim"] = f2(r["psnr_db"]), f3(r["ssim"])
    over = [w for w in sorted(widths) if widths[w]["psnr_db"] > best["psnr_db"]]
    m["WidthOvertake"] = str(over[0]) if over else "none"
    m["WidthSsimOvertake"] = next((str(w) for w in sorted(widths)
                                   if widths[w]["ssim"] > best_ssim["ssim"]), "none")
    edges = [r for r in den["rows"] if r.get("best_at_grid_edge")]
    tuned = [r for r in den["rows"] if r.get("parameter")]
    gain = max((abs(r.get("edge_gain_db") or 0) for r in edges), default=0)
    where = ", ".join(f"{r['method']} at $\\sigma={r['sigma']:g}$" for r in edges)
    m["GridNote"] = ("Every filter's tuned value lies inside its grid." if not edges else
                     f"{len(edges)} of {len(tuned)} tuned values lie at the edge of their grid "
                     f"({where}); the last grid step gained "
                     + ("less than 0.001\\,dB" if gain < 0.001 else f"at most {gain:.3f}\\,dB")
                     + " there, "
                     + ("a plateau, not a truncated search." if gain < 0.01 else
                        "so a longer grid might do better."))
    return m


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
