"""Write report/numbers.tex: every number the report cites, as LaTeX macros and table rows,
generated from the JSON/CSV files the runs wrote. Nothing in the report is typed by hand.

    python report/make_numbers.py            # reads figures/ and benchmarks/results/
"""

import argparse
import csv
import json
import math
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import publishing  # noqa: E402  (the project's one way to write a result)
CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


def load_json(path):
    return json.loads(Path(path).read_text())


def load_csv(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def number(x):
    """x, if it is a finite number: a NaN, a true/false or a text in a result file is refused
    (ValueError, one line in main), never printed into the report as a number."""
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
        raise ValueError(f"{x!r} where a finite number belongs")
    return x


def f4(x):
    return f"{number(x):.4f}"


def f3(x):
    return f"{number(x):.3f}"


def f2(x):
    return f"{number(x):.2f}"


def f1(x):
    return f"{number(x):.1f}"


def thousands(n):
    """An integer with thin spaces between its thousands: 59\\,000."""
    return f"{n:,}".replace(",", "\\,")


def pct(x):
    return f"{100 * number(x):.1f}\\,\\%"


def tex_escape(text):
    return str(text).replace("_", "\\_").replace("%", "\\%").replace("&", "\\&")


def sci(x):
    """1.2e-03 as LaTeX: $1.2\\cdot10^{-3}$."""
    mantissa, exponent = f"{number(x):.1e}".split("e")
    return f"${mantissa}\\cdot10^{{{int(exponent)}}}$"


def t_interval(values, digits=1, family=1):
    """The 95 % t interval of the mean of `values` (n - 1 degrees of freedom), Bonferroni-
    corrected for `family` intervals."""
    from scipy.stats import t as student
    mean = statistics.fmean(values)
    half = (student.ppf(1 - 0.025 / family, len(values) - 1) * statistics.stdev(values)
            / math.sqrt(len(values)))
    return f"[${mean - half:.{digits}f}$, ${mean + half:.{digits}f}$]"


def signed(text):
    """A negative number set in math mode, so that it prints a minus sign, not a hyphen."""
    return f"${text}$" if text.startswith("-") else text


def spread(s, fmt):
    """mean +- sd [min, max] of a summary from the seed study."""
    return (f"{signed(fmt(s['mean']))}~$\\pm$~{fmt(s['sd'])} "
            f"[{signed(fmt(s['min']))}, {signed(fmt(s['max']))}]")


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
        m[f"QOne{key}StepsRange"] = "--".join(f"{x:,.0f}".replace(",", "\\,") for x in (
            min(v[name]["steps"]), max(v[name]["steps"])))
    larger = [loss for lr, loss in v["batch"]["tuning_final_loss"].items()
              if float(lr) > v["batch"]["lr"]]
    m["QOneMeanImageLoss"] = f3(q1["mean_image_loss"])
    for key, name in (("Batch", "batch"), ("Mini", "mini-batch"), ("Sgd", "stochastic")):
        m[f"QOne{key}FinalLoss"] = f2(statistics.median(v[name]["final_loss"]))
    m["QOneDivergeNote"] = (("the one larger rate tried, twice it, diverged" if len(larger) == 1
                             else "every larger rate tried diverged")
                            if larger and all(math.isinf(x) for x in larger) else
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


def q1_samples_numbers(q1, curves):
    """Progress per sample: how many samples stochastic GD needs to reach the excess loss that
    mini-batch GD ends at (the same seed's), against the samples mini-batch GD took for it."""
    optimum, v = q1["optimum_loss"], q1["variants"]
    sgd, mini = [], []
    for seed, target in enumerate(v["mini-batch"]["final_excess"]):
        curve = [r for r in curves if (r["variant"], r["start"], r["seed"]) ==
                 ("stochastic", "random", str(seed))]
        sgd.append(min(int(r["samples"]) for r in curve
                       if float(r["loss"]) - optimum <= target))
        mini.append(v["mini-batch"]["samples"][seed])
    ratios = [b / a for a, b in zip(sgd, mini)]
    # Each run's excess averaged over its last tenth of the time budget (one reading of a
    # fluctuating curve can be a lucky dip): its range over seeds, per variant.
    tails = {}
    for name in v:
        for seed in range(len(v[name]["final_excess"])):
            tail = [float(r["loss"]) - optimum for r in curves
                    if (r["variant"], r["start"], r["seed"]) == (name, "random", str(seed))
                    and float(r["seconds"]) >= 0.9 * q1["seconds_budget"]]
            tails.setdefault(name, []).append(statistics.fmean(tail))

    def span(values, fmt):
        low, high = fmt(min(values)), fmt(max(values))
        return low if low == high else f"{low}--{high}"
    return {"QOneSgdSamplesToMini": span(sgd, sci), "QOneMiniSamples": span(mini, sci),
            "QOneSampleRatio": span(ratios, lambda x: f"{x:.0f}"),
            **{f"QOne{key}TailRange": span(tails[name], sci) for key, name in (
                ("Batch", "batch"), ("Mini", "mini-batch"), ("Sgd", "stochastic"))}}


def regen_seconds(times):
    """tools/reproduce.py's wall time up to the report's numbers, the benchmark (alone) aside,
    from its reproduce_times.json: finished_at_seconds holds only that run's steps (a
    --skip-benchmark run has no benchmark to take off; step_seconds keeps earlier times)."""
    finished = times["finished_at_seconds"]
    return max(t for step, t in finished.items() if step not in ("numbers", "report")) - (
        times["step_seconds"]["benchmark"] if "benchmark" in finished else 0)


# The settings every run the report cites shares with the default plain run (the seed study's
# other seeds, the linear-code runs, the seed-1 pair compare reads).
SHARED_SETTINGS = ("epochs", "batch_size", "lr", "weight_decay", "tsne_samples", "eval_every",
                   "train_limit", "test_limit")


def read_runs(fig, seeds):
    """The metrics of every run the report cites, read through the run store (analyses/runs.py:
    the run its folder stands for, sound content, one state of its folder), each made with the
    default plain run's settings."""
    from analyses import runs
    names = {"plain": "plain", "denoise": "denoise",
             "plain-linear-code": "variants/linear-code/seed0/plain",
             "seed1/plain": "seed1/plain",
             "seed1/plain-linear-code": "variants/linear-code/seed1/plain"}
    names.update({f"seed{s}/{mode}": runs.seed_run(s, mode) for s in seeds
                  for mode in ("plain", "denoise")})
    found = {label: runs.load_run(fig, name)["metrics"] for label, name in names.items()}
    base = found["plain"]["config"]
    for label, metrics in found.items():
        differ = [f"{k} {metrics['config'].get(k)!r} (not {base.get(k)!r})"
                  for k in SHARED_SETTINGS if metrics["config"].get(k) != base.get(k)]
        if differ:
            raise ValueError(f"the run {fig / names[label]} was made with other settings than "
                             f"{fig / 'plain'} ({', '.join(differ)})")
    return found


def collect(root=ROOT):
    """All macros as an ordered dict name -> text, and the generated tables as name -> rows."""
    fig = root / "figures"
    losses = {name: load_csv(fig / name / "losses.csv") for name in ("plain", "denoise")}
    comp = load_json(fig / "compare" / "comparison.json")
    q1 = load_json(fig / "q1" / "q1_results.json")
    seeds = load_json(fig / "seeds" / "seeds.json")
    revival = load_json(fig / "revival" / "revival.json")
    den = load_json(fig / "denoisers" / "denoisers.json")
    mir = load_json(fig / "mirrored" / "mirrored.json")
    pairs = load_json(fig / "paired" / "paired.json")
    tun = load_json(fig / "dae_tuning" / "dae_tuning.json")
    bench = load_json(root / "benchmarks" / "results" / "bench.json")
    times = load_json(fig / "reproduce_times.json")
    runs = read_runs(fig, [s for s in seeds["seeds"] if number(s) != 0])

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
    m["RegenJobs"] = str(times["jobs"])
    m["RegenMinutes"] = f"{regen_seconds(times) / 60:.0f}"
    # That regeneration ran on another CPU; its default runs, kept beside the benchmark.
    other = root / "benchmarks" / "results" / "intel_xeon"
    other_loss = {name: load_json(other / f"{name}_metrics.json")["final_test_loss"]
                  for name in ("plain", "denoise")}
    for key, name in (("Plain", "plain"), ("Denoise", "denoise")):
        m[f"OtherCpu{key}FinalTest"] = f4(other_loss[name])
        diff = 100 * abs(other_loss[name] / runs[name]["final_test_loss"] - 1)
        m[f"OtherCpu{key}DiffPct"] = f"{diff:.2f}" if diff < 0.1 else f"{diff:.1f}"

    recon = {r["model"]: r["test_mse"] for r in comp["reconstruction"]}
    codes = {r["code"]: r for r in comp["codes"]}
    m["PixelsKnn"] = pct(codes["raw pixels"]["knn5_accuracy"])
    m["LinearMse"] = f4(recon["plain-linear-code"])
    m["SeedOnePlainMse"] = f4(recon["seed1/plain"])
    m["SeedOneLinearMse"] = f4(recon["seed1/plain-linear-code"])
    m["SeedOneLinearVarying"] = str(codes["seed1/plain-linear-code"]["varying_units"])

    m.update(q1_numbers(q1))
    m.update(q1_samples_numbers(q1, load_csv(fig / "q1" / "q1_curves.csv")))

    variants = list(revival["variants"].values())
    m["RevivalLastSeed"] = str(revival["scanned_seeds"] - 1)
    m["RevivalDead"] = ", ".join(map(str, revival["dead_seeds"])) or "none"
    m["RevivalAdamStep"] = str(variants[0]["first_step_with_a_live_decoder_unit"])
    m["RevivalSteps"] = thousands(revival['epochs'] * revival['steps_per_epoch'])
    m["RevivalSgdLr"] = f"{variants[2]['lr']:g}"
    m["RevivalLogEvery"] = str(revival["log_every"])
    no_decay = [r for r in load_csv(fig / "revival" / "revival.csv")
                 if r["variant"] == list(revival["variants"])[1]]
    start_units = int(no_decay[0]["live_code_units"])
    drops = [int(r["step"]) for r, q in zip(no_decay[1:], no_decay) if
             int(r["live_code_units"]) < int(q["live_code_units"])]
    steps = [int(r["step"]) for r in no_decay]
    # the drop began after the last probe before it: "between steps 80 and 95"
    m["RevivalNoDecayCodeDrop"] = (f"from {start_units} to {no_decay[-1]['live_code_units']} "
                                   f"between steps {steps[steps.index(min(drops)) - 1]} and "
                                   f"{max(drops)}" if drops else "none")
    m["RevivalProbe"] = thousands(revival['probe_images'])
    adam = [r for r in load_csv(fig / "revival" / "revival.csv")
            if r["variant"] == list(revival["variants"])[0]]
    m["RevivalAdamFinalUnits"] = adam[-1]["live_decoder_units"]

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
    m.update(mirrored_numbers(mir))
    m.update(tuning_numbers(tun, den))
    longer, b1 = (load_json(fig / "dae_longer" / "dae_longer.json"),
                  load_json(fig / "beta1" / "beta1.json"))
    m.update(longer_numbers(longer))
    wc, wide = (load_json(fig / "width_choice" / "width_choice.json"),
                load_json(fig / "wide_tuning" / "wide_tuning.json"))
    m.update(width_choice_numbers(wc))
    m.update(wide_numbers(wide, tun))
    m.update(beta1_numbers(b1, revival["dead_seeds"]))
    vst = load_json(fig / "vst" / "vst.json")
    blocks = load_json(fig / "bm3d_blocks" / "bm3d_blocks.json")
    prior = load_json(fig / "patch_prior" / "patch_prior.json")
    lead = load_json(fig / "leaders" / "leaders.json")
    family, parts = beyond_family(pairs, blocks, prior, vst)
    m["FamilyCount"] = str(family)
    m["FamilyParts"] = (f"{parts[0]} for {len(pairs['pairs'])} estimator--network pairs by PSNR and "
                        f"MSE, {parts[1]} gains from telling the clipping, {parts[2]} for the "
                        f"leaders' pairs and gains, {parts[3]} other gains from the stabiliser")
    m.update(vst_numbers(vst, family))
    m.update(paired_numbers(pairs, family))
    m.update(blocks_numbers(blocks, family))
    m.update(prior_numbers(prior, family))
    m.update(leaders_numbers(lead, family))
    m["LeadsTableRows"] = leads_table(lead, blocks, prior, pairs, vst, family)
    for key, name in (("Nlm", "non-local means"), ("Bm", "BM3D")):  # the stabiliser's gains
        gain = vst["methods"][name]["stabilised_minus_aware"]
        m[f"Vst{key}GainPAll"] = corrected_p(gain, family)
    # Table 5's classical methods (BM3D with its blocks tuned is BM3D, counted once; the learned
    # dictionary one more) above every seed of the sheet's DAE, untuned and tuned like the
    # filters, by more than the sd of those seeds: a margin inside the seeds' own spread is no
    # ranking. Split into the filters, which learn nothing, and the estimators fitted to the
    # training images (PCA, the Wiener estimator, the dictionary: the last entry of `above`).
    dae_seeds = [r["subset"]["psnr_db"] for r in den["rows"]
                 if r["sigma"] == 0.5 and r["method"] == "DAE"]
    tuned_seeds = [v["subset"]["psnr_db"] for v in tun["tuned"]["8"]["per_seed"].values()]
    ranked = ranked_classical(den)
    above = [psnr(s) for s in ranked] + [
        max(r["test"]["psnr_db"] for r in prior["pipelines"].values())]
    fitted = [s["kind"] != "filter" for s in ranked] + [True]
    m["ClassicalN"] = str(len(above))
    for key, psnrs in (("Dae", dae_seeds), ("TunedDae", tuned_seeds)):
        best, sd = max(psnrs), statistics.stdev(psnrs)
        clear = [v - best > sd for v in above]
        m[f"{key}SeedSd"] = f2(sd)
        m[f"ClassicalAbove{key}"] = str(sum(clear))
        # "by X or more": X rounded down, so that every margin is at least what is printed
        m[f"ClearMargin{key}"] = f"{math.floor(100 * min(v - best for v, c in zip(above, clear) if c)) / 100:.2f}"
        for group, want in (("Filter", False), ("Fitted", True)):
            m[f"{group}N"] = str(sum(f == want for f in fitted))
            m[f"{group}Above{key}"] = str(sum(c for c, f in zip(clear, fitted) if f == want))
        m[f"FiltersAbove{key}Names"] = ", ".join(  # the filters clearly above, named
            method_name(s)
            for s, c, f in zip(ranked, clear, fitted) if c and not f)
        m[f"ClassicalNotAbove{key}"] = " and ".join(  # named (the dictionary is above both)
            method_name(s)
            for s, c in zip(ranked, clear) if not c) or "none"
    # the same count by MSE, the loss the DAE was trained on (lower is better), same forms
    dae_mse = [r["subset"]["mse"] for r in den["rows"] if r["sigma"] == 0.5 and r["method"] == "DAE"]
    best_mse, sd_mse = min(dae_mse), statistics.stdev(dae_mse)
    dictionary = max(prior["pipelines"].values(), key=lambda r: r["test"]["psnr_db"])["test"]
    mses = [s["subset"]["mse"]["mean"] for s in ranked] + [dictionary["mse"]]
    m["ClassicalBelowDaeMse"] = str(sum(best_mse - v > sd_mse for v in mses))
    m["ClassicalNotBelowDaeMse"] = " and ".join(
        method_name(s)
        for s, v in zip(ranked, mses) if not best_mse - v > sd_mse) or "none"
    m["RevivalEpochs"] = str(revival["epochs"])
    m["RevivalSgdDecayStep"] = sci(variants[2]["lr"] * variants[2]["weight_decay"])
    m["SeedsCkaPairs"] = str(cka["plain vs plain, two seeds"]["n"])
    m["SeedsCkaSamePairs"] = str(cka["plain vs denoise, same seed"]["n"])
    seed0_map = next(r for r in seeds["rows"] if r["model"] == "plain" and r["seed"] == int(cfg["seed"]))
    for name in ("Sneaker", "Trouser"):
        m[f"MapSil{name}"] = f2(seed0_map["silhouette_2d_per_class"][CLASS_NAMES.index(name)])
    knn_class = {r["class"]: r["knn5_per_class"] for r in seeds["per_class"] if r["model"] == "plain"}
    for key, names in (("Mixed", ("Shirt", "Coat", "Pullover")), ("Clear", ("Trouser", "Bag", "Ankle boot"))):
        values = [100 * knn_class[n] for n in names]
        m[f"Knn{key}Range"] = f"{min(values):.1f}--{max(values):.1f}"
    by_seed = {(r["model"], r["seed"]): r for r in seeds["rows"]}
    for name in ("Shirt", "Coat", "Pullover", "Sandal", "Ankle boot", "Sneaker", "Trouser", "Bag"):
        values = [100 * by_seed[("plain", s)]["knn5_per_class"][CLASS_NAMES.index(name)]
                  for s in seeds["seeds"]]
        m["KnnClass" + name.replace(" ", "")] = (
            f"{statistics.fmean(values):.0f}~$\\pm$~{statistics.stdev(values):.0f}\\,\\%")
    for name in ("Sandal", "Ankle boot"):
        values = [by_seed[("plain", s)]["silhouette_code_per_class"][CLASS_NAMES.index(name)]
                  for s in seeds["seeds"]]
        m["SilCode" + name.replace(" ", "")] = (f"${statistics.fmean(values):.2f}$~$\\pm$~"
                                                f"{statistics.stdev(values):.2f}")
    # The chance that at least one of ten classes moves the same way at every seed by chance.
    m["SignTestAny"] = f"{1 - (1 - 2 * 0.5 ** len(seeds['seeds'])) ** len(CLASS_NAMES):.2f}"
    sneaker = [by_seed[("plain", s)]["silhouette_2d_per_class"][CLASS_NAMES.index("Sneaker")]
               for s in seeds["seeds"]]
    m["MapSilSneakerRange"] = f"{min(sneaker):.2f}--{max(sneaker):.2f}"
    m["KnnSeedZero"] = f"{100 * by_seed[('plain', int(cfg['seed']))]['knn5_accuracy']:.1f}"
    m["DenoiseCleanWorseSeeds"] = str(sum(by_seed[("denoise", s)]["test_mse"]
                                          > by_seed[("plain", s)]["test_mse"]
                                          for s in seeds["seeds"]))
    mse_diff = [by_seed[("denoise", s)]["test_mse"] - by_seed[("plain", s)]["test_mse"]
                for s in seeds["seeds"]]  # paired by seed: the same start, the same images
    from scipy.stats import binomtest  # two-sided sign test of the DAE's worse clean MSE
    m["SignTestAll"] = f"{binomtest(int(m['DenoiseCleanWorseSeeds']), len(mse_diff)).pvalue:.2f}"
    m["MsePairedDiff"] = (f"${statistics.fmean(mse_diff):+.4f}$~$\\pm$~"
                          f"{statistics.stdev(mse_diff):.4f} [{min(mse_diff):+.4f}, "
                          f"{max(mse_diff):+.4f}]")
    knn_diff = [100 * (by_seed[("denoise", s)]["knn5_accuracy"]
                       - by_seed[("plain", s)]["knn5_accuracy"]) for s in seeds["seeds"]]
    m["KnnPairedDiff"] = (f"${statistics.fmean(knn_diff):.1f}$~$\\pm$~"
                          f"{statistics.stdev(knn_diff):.1f}")
    m["KnnPairedCi"] = t_interval(knn_diff)  # of the mean paired difference
    pca_knn = summary["PCA-8"]["knn5_accuracy"]["mean"]  # one code: no seed
    m["KnnVsPcaCi"] = t_interval([100 * (by_seed[("plain", s)]["knn5_accuracy"] - pca_knn)
                                  for s in seeds["seeds"]])
    live_diff = [by_seed[("denoise", s)]["live_units"] - by_seed[("plain", s)]["live_units"]
                 for s in seeds["seeds"]]
    m["LivePairedDiff"] = (f"${statistics.fmean(live_diff):.1f}$~$\\pm$~"
                           f"{statistics.stdev(live_diff):.1f}")
    m["LivePairedCi"] = t_interval(live_diff)
    # Q3b: on the noisy test images, the DAE against the AE of Q2 fed the same images
    noisy_diff = [by_seed[("denoise (noisy input)", s)]["test_mse"]
                  - by_seed[("plain (noisy input)", s)]["test_mse"] for s in seeds["seeds"]]
    m["NoisyMsePairedDiff"] = (f"${statistics.fmean(noisy_diff):+.4f}$~$\\pm$~"
                               f"{statistics.stdev(noisy_diff):.4f}")
    m["NoisyDaeBetterSeeds"] = str(sum(d < 0 for d in noisy_diff))
    m["NoisyMsePairedCi"], m["MsePairedCi"] = (t_interval(noisy_diff, 4),
                                               t_interval(mse_diff, 4))
    # paired t tests, Bonferroni-corrected for the five paired AE-DAE comparisons of Q3 (test
    # MSE on clean and on noisy images, 5-NN accuracy, live units, robustness)
    from scipy.stats import ttest_1samp
    for key, diff in (("Noisy", noisy_diff), ("Clean", mse_diff)):
        m[f"{key}MseTtestP"] = f"{ttest_1samp(diff, 0).pvalue:.3f}"
        m[f"{key}MseTtestPCorr"] = f"{min(1.0, 5 * ttest_1samp(diff, 0).pvalue):.3f}"
    for key, model in (("Plain", "plain"), ("Denoise", "denoise (noisy input)")):
        s = summary[model]["test_mse"]
        m[f"Seeds{key}CvPct"] = f"{100 * s['sd'] / s['mean']:.0f}"

    def seeds_where(name, better):
        c = CLASS_NAMES.index(name)
        return str(sum(better(by_seed[("denoise", s)]["silhouette_2d_per_class"][c],
                              by_seed[("plain", s)]["silhouette_2d_per_class"][c])
                       for s in seeds["seeds"]))
    m["SandalBetterSeeds"] = seeds_where("Sandal", lambda d, p: d > p)
    m["BootBetterSeeds"] = seeds_where("Ankle boot", lambda d, p: d > p)
    m["SneakerWorseSeeds"] = seeds_where("Sneaker", lambda d, p: d < p)
    # Classes whose map silhouette moves the same way (DAE vs AE) at every seed.
    uniform = [name for c, name in enumerate(CLASS_NAMES)
               if len({(by_seed[("denoise", s)]["silhouette_2d_per_class"][c]
                        > by_seed[("plain", s)]["silhouette_2d_per_class"][c])
                       for s in seeds["seeds"]}) == 1]
    plural = {"T-shirt/top": "T-shirts", "Dress": "dresses"}
    m["UniformClasses"] = ", ".join(tex_escape(plural.get(n, n.lower() + "s"))
                                    for n in uniform) or "none"
    m["UniformClassesN"] = (f"{len(uniform)} class" if len(uniform) == 1 else
                            f"{len(uniform)} classes")
    drops = {}
    for key, model in (("Plain", "plain"), ("Denoise", "denoise")):
        drops[key] = [100 * (by_seed[(model, s)]["knn5_accuracy"]
                             - by_seed[(f"{model} (noisy input)", s)]["knn5_accuracy"])
                      for s in seeds["seeds"]]
        m[f"KnnDrop{key}"] = (f"{statistics.fmean(drops[key]):.1f}~$\\pm$~"
                              f"{statistics.stdev(drops[key]):.1f}")
    m["KnnDropPairedCi"] = t_interval([p - d for p, d in zip(drops["Plain"], drops["Denoise"])])
    # Q3's five paired AE-DAE comparisons in one table (DAE minus AE by seed), each with its
    # uncorrected interval and its p corrected for the five
    q3_rows = []
    for name, diff, digits in (
            ("test MSE, clean input", mse_diff, 4), ("test MSE, noisy input", noisy_diff, 4),
            ("5-NN accuracy (points)", knn_diff, 1), ("live code units", live_diff, 1),
            ("5-NN points lost to noise", [d - p for p, d in zip(drops["Plain"], drops["Denoise"])],
             1)):
        cells = [name, f"${statistics.fmean(diff):+.{digits}f}$~$\\pm$~{statistics.stdev(diff):.{digits}f}",
                 f"{sum(d > 0 for d in diff)} of {len(diff)}", t_interval(diff, digits),
                 f"{min(1.0, 5 * ttest_1samp(diff, 0).pvalue):.3f}".replace("1.000", "1")]
        q3_rows.append(" & ".join(cells) + r" \\")
    m["QThreePairedRows"] = "\n".join(q3_rows)

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
                           # trustworthiness: near 1 in every row, not shown
                           for _, metric, fmt in metrics if metric != "trustworthiness"]
        for _, model in models]
    per_class = {(r["model"], r["class"]): r for r in seeds["per_class"]}
    seed0 = next(r for r in seeds["rows"] if r["model"] == "plain" and r["seed"] == int(cfg["seed"]))
    tables["PerClassRows"] = [
        [tex_escape(name)] + [pct(per_class[(model, name)]["knn5_per_class"]).replace("\\,\\%", "")
                              for model in ("plain", "denoise", "denoise (noisy input)", "PCA-8")]
        + [f"${f2(seed0['silhouette_2d_per_class'][c])}$"]
        + [f"${f2(per_class[(model, name)]['silhouette_2d_per_class'])}$"
           for model in ("plain", "denoise")]
        for c, name in enumerate(CLASS_NAMES)]
    tables["DenoiseTableRows"] = denoise_table(den, tun, longer, blocks, prior, {
        "non-local means": vst["methods"]["non-local means"]["test_psnr_db"]["stabilised"],
        "BM3D": vst["methods"]["BM3D"]["test_psnr_db"]["stabilised"],
        BLOCKS: lead["stabilised"]["test_psnr_db"]})
    tables["SweepTableRows"] = sweep_table(den)
    tables["BudgetTableRows"], edged, scored = budget_table(den, vst, blocks, prior, lead, tun,
                                                             longer, wide, wc)
    m["BudgetEdgeRows"] = str(len(edged))
    m["BudgetImagesMin"], m["BudgetImagesMax"] = thousands(min(scored)), thousands(max(scored))
    per_epoch = [[r["epoch"], f4(float(r["train_loss"])),
                  f4(float(by_epoch["denoise"][int(r["epoch"])]["train_loss"]))]
                 for r in losses["plain"] if r["train_loss"]]
    tables["TrainLossRows"] = side_by_side(per_epoch)
    return m, tables


def side_by_side(rows):
    """Two blocks of `rows` side by side (keeps the table on one page): the first half on the
    left, the rest on the right, an odd row's right side blank; every row once."""
    half = (len(rows) + 1) // 2
    width = len(rows[0]) if rows else 0
    return [left + (rows[i + half] if i + half < len(rows) else [""] * width)
            for i, left in enumerate(rows[:half])]


FILTER_NAMES = ("Gaussian", "median", "total variation", "wavelet (BayesShrink)",
                "non-local means", "BM3D")
AWARE = ", clipping-aware"
CEILING = "plain AE fed the clean input"
# The learned rows of the ranking table; the sweeps' rows at sigma 0.5 and code size 8 are
# seeds of the DAE row, so they are not repeated.
LEARNED_SHOWN = ("DAE", "plain AE fed the noisy input", "DAE, mirrored decoder",
                 "DAE, code size 128")
TABLE_NAMES = {"DAE": "\\textbf{DAE (the sheet's)}", "noisy input (no denoising)": "noisy input",
               "plain AE fed the noisy input": "AE (Q2) fed the noisy input",
               "DAE, mirrored decoder": "DAE, mirrored decoder",
               "DAE, code size 128": "DAE, widened to 128",
               "PCA-k (k tuned)": "PCA, $k$ tuned", "PCA-8 (the code size)": "PCA-8",
               "Wiener (linear MMSE)": "\\textbf{Wiener (linear MMSE)}",
               CEILING: "AE (Q2) fed the \\emph{clean} input"}
TUNED_NAMES = {8: "DAE (the sheet's), tuned", 128: "DAE, widened to 128, tuned"}


# The filters' parameters as the tables name them (others by their own name); two are told
# relative to sigma, and two are values that name themselves (BM3D's profile, the wavelet)
PARAM_NAMES = {"sigma_factor": "$\\sigma_f$", "h": "$h$", "patch_size": "patch",
               "patch_distance": "dist.", "fast_mode": "fast", "spin": "cycle spinning",
               "tolerance": "tol.", "k": "$k$"}
RELATIVE, UNNAMED = ("sigma_factor", "h"), ("profile", "wavelet")


def value_text(method, values):
    """The tuned values of a filter as table text."""
    if not values:
        return ""
    parts = []
    for name, v in values.items():
        text = tex_escape(v) if isinstance(v, str) else ("yes" if v is True else "no"
                                                          if v is False else f"{v:g}")
        label = "" if name in UNNAMED else PARAM_NAMES.get(name, name)
        if name in RELATIVE:
            label = label[:-1] + "/\\sigma$"
        parts.append(f"$k={text}$" if name == "k" else f"{label} {text}".strip())
    return ", ".join(parts)


def standing(den, sigma=0.5):
    """The summary entries at one noise level by method."""
    return {s["method"]: s for s in den["summary"] if s["sigma"] == sigma}


def base_name(method):
    """The classical method without its pipeline; PCA-k's tuned k dropped."""
    method = method.removesuffix(AWARE)
    if method.startswith("PCA-") and method.endswith("(k tuned)"):
        return "PCA-k (k tuned)"
    return method


def classical_pairs(at):
    """base name -> (blind entry, clipping-aware entry or None), the noisy input included."""
    pairs = {}
    for method, s in at.items():
        if s["kind"] in ("filter", "pca", "linear", "input"):
            blind, aware = pairs.get(base_name(method), (None, None))
            pairs[base_name(method)] = (s, aware) if not method.endswith(AWARE) else (blind, s)
    return pairs


def method_name(s):
    """A classical method as the text names it: no pipeline, no wavelet rule."""
    return tex_escape(base_name(s["method"]).replace(" (BayesShrink)", ""))


def ranked_classical(den):
    """Table 5's classical methods at sigma 0.5, each in its ranked form (aware where it has
    one); PCA counted once, at its tuned k."""
    return [aw or bl for bl, aw in classical_pairs(standing(den)).values()
            if bl["kind"] != "input" and not bl["method"].startswith("PCA-8")]


def best_aware(at, names):
    return max((at[f"{n}{AWARE}"] for n in names if f"{n}{AWARE}" in at),
               key=lambda s: s["subset"]["psnr_db"]["mean"])


def psnr(s, part="subset"):
    return s[part]["psnr_db"]["mean"]


def tuned_entries(tun):
    """The DAEs tuned on the held-out images (analyses/dae_tuning.py) as ranking entries:
    label -> entry shaped like denoisers.json's summary, plus the tuned values' text."""
    entries = {}
    for width, t in tun["tuned"].items():
        label = TUNED_NAMES[int(width)]
        entries[label] = {"method": label, "kind": "learned",
                          "subset": {"psnr_db": t["subset_psnr_db"], "ssim": t["subset_ssim"]},
                          "full": {"psnr_db": t["all_psnr_db"]},
                          "values_text": f"lr {t['lr']:g}, {t['epochs']} ep., "
                                         f"$n={t['subset_psnr_db']['n']}$"}
    return entries


def longer_entry(lon):
    """The widened DAE trained past the tuning's grid (analyses/dae_longer.py) as a ranking
    entry: its test PSNR at the epoch the held-out images chose; no SSIM, no full test set."""
    test = lon["test_at_chosen"]
    return {"method": f"DAE, widened to {lon['width']}, longer",
            "kind": "learned", "subset": {"psnr_db": test, "ssim": None}, "full": None,
            "values_text": f"lr {lon['lr']:g}, {lon['chosen_epoch']} ep., $n={test['n']}$"}


def added_entries(record, method):
    """A classical method run beside the comparison (analyses/bm3d_blocks.py,
    analyses/patch_prior.py) as a (blind, aware) pair of ranking entries; scored on the first
    test images only."""
    return tuple({"method": method, "kind": "filter", "full": None, "values": r["chosen"],
                  "subset": {"psnr_db": {"mean": r["test"]["psnr_db"]},
                             "ssim": {"mean": r["test"]["ssim"]}}}
                 for r in (record["pipelines"]["blind"], record["pipelines"]["clipping-aware"]))


BLOCKS, PRIOR = "BM3D, blocks tuned", "sparse coding, learned dictionary"


def denoise_table(den, tun, lon, blocks, prior, stabilised):
    """Classical methods blind and clipping-aware side by side (BM3D with its blocks tuned and
    the learned dictionary too), and through the stabiliser where they ran so (`stabilised`:
    method -> test PSNR; analyses/vst.py, analyses/leaders.py); then learned rows over seeds
    (the tuned DAEs and the one trained longer among them); then the noisy input and the
    clean-input AE, no denoiser. Each group best (of the two pipelines) first."""
    at = standing(den)
    rows = [(name, blind, aware) for name, (blind, aware) in classical_pairs(at).items()]
    rows += [(BLOCKS, *added_entries(blocks, BLOCKS)), (PRIOR, *added_entries(prior, PRIOR))]
    rows += [(m, at[m], None) for m in LEARNED_SHOWN]
    rows += [(m, s, None) for m, s in tuned_entries(tun).items()]
    longer = longer_entry(lon)
    rows.append((longer["method"], longer, None))
    # classical methods, then learned ones, then the references (the noisy input, and the
    # clean-input AE, no denoiser): each group ranked by its better pipeline, set apart by a rule
    group = {"filter": 0, "pca": 0, "linear": 0, "learned": 1, "input": 2}
    rows.sort(key=lambda r: (group[r[1]["kind"]], -max(psnr(s) for s in r[1:] if s)))
    rows.append((CEILING, at[CEILING], None))
    table = []
    for i, (name, blind, aware) in enumerate(rows):
        label = TABLE_NAMES.get(name, tex_escape(name.replace(" (BayesShrink)", "")))
        if i and group.get(blind["kind"], 2) != group.get(rows[i - 1][1]["kind"], 2):
            label = "\\midrule " + label
        if blind["kind"] in ("learned", "reference"):
            p, q = blind["subset"]["psnr_db"], blind["subset"]["ssim"]
            table.append([label, blind.get("values_text", f"$n={p['n']}$ seeds"),
                          f"\\multicolumn{{3}}{{c}}{{{spread(p, f2)}}}",
                          mean_sd(q, f3) if q else "--"])
        else:  # SSIM of the better pipeline, the aware one where there is one
            values = aware["values"] if aware else blind["values"]
            table.append([label, value_text(name, values) if blind["kind"] in ("filter", "pca")
                          else "none (closed form)" if blind["kind"] == "linear" else "",
                          f2(psnr(blind)), f2(psnr(aware)) if aware else "--",
                          f2(stabilised[name]) if name in stabilised else "--",
                          f3((aware or blind)["subset"]["ssim"]["mean"])])
    return table


def sweep_table(den):
    """PSNR (subset) per noise level: the DAE (mean +- sd over seeds), BM3D both ways, the best
    other aware filter, the noisy input; then the DAE per code size at sigma 0.5."""
    rows = []
    for sigma in den["sigmas"]:
        at = standing(den, sigma)
        dae = at[f"DAE trained at sigma {sigma:g}"]
        best = best_aware(at, FILTER_NAMES[:-1])
        rows.append([f"$\\sigma={sigma:g}$", spread(dae["subset"]["psnr_db"], f2),
                     f2(psnr(at["BM3D"])), f2(psnr(at["BM3D" + AWARE])),
                     f"{f2(psnr(best))} ({tex_escape(base_name(best['method']).replace(' (BayesShrink)', ''))})",
                     f2(psnr(at["Wiener (linear MMSE)" + AWARE])),
                     f2(psnr(at["noisy input (no denoising)"]))])
    at = standing(den)
    for width in den["widths"]:
        if width != 8:
            rows.append([f"widened to {width}, $\\sigma=0.5$",
                         spread(at[f"DAE, code size {width}"]["subset"]["psnr_db"], f2),
                         "", "", "", "", ""])
    return rows


def at_edge(value, tried):
    """Whether a chosen value is the lowest or the highest of the values tried."""
    return value in (min(tried), max(tried))


def duration(seconds):
    """Wall time as table text: minutes below two hours, then hours."""
    return (f"{seconds:.0f}\\,s" if seconds < 60 else f"{seconds / 60:.0f}\\,min"
            if seconds < 7200 else f"{seconds / 3600:.1f}\\,h")


def budget_table(den, vst, blocks, prior, lead, tun, lon, wide, wc):
    """What each method at sigma 0.5 was tuned with: the held-out training images its search
    scored, the training images it learns from, what it searched, where the chosen value sits
    at the edge of what was tried (and is no natural bound), and the search's wall time. Each
    classical method's clipping-aware search (its blind one is alike); the time covers both,
    the aware search reusing the blind one's outputs. Returns the rows, the labels of the rows
    with an edge, and the numbers of held-out images the searches scored."""
    learn = thousands(tun['train_images'])
    rows, scored = [], []

    def names(params):
        return ", ".join(PARAM_NAMES.get(p, p) for p in params)

    def add(label, images, learns, searched, edge, seconds):
        if isinstance(images, int):
            scored.append(images)
        rows.append([label, thousands(images) if isinstance(images, int)
                     else images, learns, searched,
                     edge or ("--" if searched.startswith("none") else "none"),
                     duration(seconds) if seconds is not None else "--"])

    searches = {t["method"]: t for t in den["tuning"] if t["sigma"] == 0.5}
    for name in ("Gaussian", "median", "wavelet (BayesShrink)", "total variation",
                 "non-local means", "BM3D", "PCA-k"):
        aware = searches[name + AWARE]
        seconds = [searches[m].get("tuning_seconds") for m in (name, name + AWARE)]
        edge = [p for p, c in aware["parameters"].items() if c["at_grid_edge"]]
        add(TABLE_NAMES.get("PCA-k (k tuned)" if name == "PCA-k" else name,
                            tex_escape(name.replace(" (BayesShrink)", ""))),
            aware["tune_images"], learn if name == "PCA-k" else "--",
            names(aware["parameters"]), names(edge),
            None if None in seconds else sum(seconds))
    for name, v in vst["methods"].items():
        add(f"{name}, stabilised", v["tune_images"], "--", names(v["chosen"]),
            names(v["at_grid_edge"]), v["tuning_seconds"])
    aware = blocks["pipelines"]["clipping-aware"]
    add(BLOCKS, blocks["tune_images"], "--", names(aware["parameters"]),
        names(aware["at_grid_edge"]),
        sum(r["tuning_seconds"] for r in blocks["pipelines"].values()))
    stab = lead["stabilised"]  # on bm3d_blocks' held-out images, its block and step kept
    add(BLOCKS + ", stabilised", blocks["tune_images"], "--", names(stab["parameters"]),
        names(p for p, c in stab["parameters"].items() if c["at_grid_edge"]), None)
    aware = prior["pipelines"]["clipping-aware"]
    from analyses.patch_prior import PARAMS  # the atoms' natural bound: a cap on learning time
    capped = aware["chosen"]["atoms"] == next(p.high for p in PARAMS if p.name == "atoms")
    add(PRIOR, prior["tune_images"],
        thousands(prior['learn_patches']) + " patches",
        names(aware["chosen"]),
        names(aware["at_grid_edge"] + (["atoms (cap)"] if capped else [])),
        sum(r["seconds"] for r in prior["pipelines"].values()))
    add("Wiener (linear MMSE)", "--", learn, "none (closed form)", "", None)
    lrs = len(tun["lrs"])
    kept = {w: max(i for i, r in enumerate(tun["runs"]) if w in r["widths"])
            for w in tun["widths"]}
    for width, label in TUNED_NAMES.items():
        t, top = tun["tuned"][str(width)], tun["epochs"][str(width)]
        edge = (["lr"] if at_edge(t["lr"], tun["lrs"]) else []) + (
            ["epochs"] if t["epochs"] == top else [])
        add(label, tun["tune_images"], learn,  # the search and the scored seeds' retraining
            f"lr ({lrs}) $\\times$ epochs ({tun['eval_every']}--{top})", names(edge),
            tun["runs"][kept[width]]["wall_seconds"])
    last = max(lon["epochs_scored"])
    add(f"DAE, widened to {lon['width']}, longer", lon["subset_images"], learn,
        f"epochs ({lon['eval_every']}--{last}) at lr {lon['lr']:g}",
        "epochs" if lon["chosen_epoch"] == last else "", lon["wall_seconds"])
    add("DAE, width choice", wc["tune_images"], learn,
        f"width ({min(wc['widths'])}--{max(wc['widths'])}) at {wc['epochs']} epochs",
        "width" if wc["chosen"]["at_edge"] else "", wc["wall_seconds"])
    add(f"DAE, {wide['width']} wide", wide["tune_images"], learn,
        f"lr ({len(wide['lrs'])}) $\\times$ epochs ({wide['eval_every']}--{wide['epochs']})",
        names((["lr"] if at_edge(wide["chosen"]["lr"], wide["lrs"]) else [])
              + (["epochs"] if wide["chosen"]["at_last_epoch"] else [])),
        wide["wall_seconds"])
    return rows, [r[0] for r in rows if r[4] not in ("none", "--")], scored


def denoiser_numbers(den):
    at = standing(den)
    m = {"TuneImages": thousands(den['tune_images']),
         "BmTuneImages": str(den["bm3d_tune_images"]),
         "NlmTuneImages": str(den["nlm_tune_images"]),
         "SubsetImages": thousands(den['subset_images']),
         "SweepSeeds": f"{min(den['sweep_seeds'])}--{max(den['sweep_seeds'])}",
         "SweepSeedsN": str(len(den["sweep_seeds"])),
         "DenSeedsList": f"{min(den['seeds'])}--{max(den['seeds'])}",
         "BgMean": f"{den['clipped_background_mean']['0.5']:.2f}"}
    dae, ceiling = at["DAE"], at[CEILING]
    m["DaePsnr"] = spread(dae["subset"]["psnr_db"], f2)
    m["DaePsnrMean"] = f2(psnr(dae))
    m["DaeSsim"] = mean_sd(dae["subset"]["ssim"], f3)
    m["DaeSeedsN"] = str(dae["subset"]["psnr_db"]["n"])
    dae_seeds = [r["subset"]["psnr_db"] for r in den["rows"]
                 if r["sigma"] == 0.5 and r["method"] == "DAE"]
    bm, awbm = at["BM3D"], at["BM3D" + AWARE]
    for key, s in (("Bm", bm), ("AwBm", awbm)):
        m[f"{key}Psnr"], m[f"{key}Ssim"] = f2(psnr(s)), f3(s["subset"]["ssim"]["mean"])
        m[f"{key}Values"] = value_text("BM3D", s["values"])
    # BM3D's reduced FFT domain: its tuning score against the library's at each chosen setting
    checks = [t for t in den["tuning"] if t["filter"] == "BM3D"]
    m["BmNf"], m["BmLibraryNf"] = str(checks[0]["nf"]), str(checks[0]["library_nf"])
    diff = max(abs(t["tuned_psnr_db"] - t["library_nf_psnr_db"]) for t in checks)
    m["BmNfMaxDiff"] = f"{diff:.3f}"  # three decimals: 0.022 is not "at most 0.02"
    for key, name in (("Nlm", "non-local means"), ("Bm", "BM3D")):  # parameters searched
        search, = [t for t in den["tuning"] if t["sigma"] == 0.5 and t["method"] == name + AWARE]
        m[f"{key}Params"] = str(len(search["parameters"]))
        # its searches' wall time, both pipelines (the aware one reuses the blind one's outputs)
        seconds = sum(t["tuning_seconds"] for t in den["tuning"]
                      if t["sigma"] == 0.5 and t["filter"] == name)
        m[f"{key}TuneMinutes"] = f"{seconds / 60:.1f}"
    pairs = classical_pairs(at)
    gains = {name: psnr(aware) - psnr(blind) for name, (blind, aware) in pairs.items()
             if aware and blind["kind"] != "linear"}  # the filters' and PCA's
    m["AwGainMin"], m["AwGainMax"] = f2(min(gains.values())), f2(max(gains.values()))
    m["AwGainBm"] = f2(gains["BM3D"])
    # the clipping-aware filters and PCA; the Wiener estimator has its own numbers below
    aware = [s for s in at.values() if s["method"].endswith(AWARE) and s["kind"] != "linear"]
    top = max(aware, key=psnr)
    m["AwTop"] = tex_escape(base_name(top["method"]).replace(" (BayesShrink)", ""))
    m["AwTopPsnr"], m["AwTopSsim"] = f2(psnr(top)), f3(top["subset"]["ssim"]["mean"])
    m["AwTopGapBm"] = f2(psnr(top) - psnr(awbm))
    m["DaeGapAwBm"] = f2(psnr(awbm) - psnr(dae))
    best_seed = max(r["subset"]["psnr_db"] for r in den["rows"]
                    if r["sigma"] == 0.5 and r["kind"] == "learned")
    above = [base_name(s["method"]).replace(" (BayesShrink)", "") for s in
             sorted(aware, key=psnr, reverse=True) if psnr(s) > best_seed]
    m["AwAboveNets"] = tex_escape(", ".join(above[:-1]) + " and " + above[-1]
                                  if len(above) > 1 else "".join(above) or "no method")
    blind_top = max((s for s in at.values() if s["kind"] in ("filter", "pca", "linear")
                     and not s["method"].endswith(AWARE)), key=psnr)
    m["BlindTop"] = tex_escape(base_name(blind_top["method"]).replace(" (BayesShrink)", ""))
    m["BlindTopPsnr"] = f2(psnr(blind_top))
    m["BlindTopSsim"] = f3(blind_top["subset"]["ssim"]["mean"])
    m["DaeSeedsAboveBlindTop"] = str(sum(v > psnr(blind_top) for v in dae_seeds))
    m["AwFilterCount"] = str(sum(psnr(s) > psnr(dae) for s in aware))
    # the classical method nearest above the sheet's DAE's best seed (Table 5's ranked forms)
    ranked = ranked_classical(den)
    closest = min((s for s in ranked if psnr(s) > max(dae_seeds)), key=psnr)
    m["DaeClosest"] = tex_escape(base_name(closest["method"]).replace(" (BayesShrink)", ""))
    m["DaeClosestMargin"] = f2(psnr(closest) - max(dae_seeds))
    median = max(psnr(at["median"]), psnr(at["median" + AWARE]))  # its better form
    m["DaeSeedsAboveMedian"] = str(sum(v > median for v in dae_seeds))
    m["AwN"] = str(len(aware))
    widest = at["DAE, code size 128"]
    m["CodeMaxPsnr"] = spread(widest["subset"]["psnr_db"], f2)
    m["CodeMaxSsim"] = mean_sd(widest["subset"]["ssim"], f3)
    m["CodeMaxGapTop"] = f2(psnr(top) - psnr(widest))
    m["CodeMaxGapBm"] = f2(psnr(awbm) - psnr(widest))
    m["CodeMaxSeedsAboveTop"] = str(sum(
        r["subset"]["psnr_db"] > psnr(top) for r in den["rows"]
        if r["sigma"] == 0.5 and r["method"] == "DAE, code size 128"))
    m["CodeMaxSeedsN"] = str(widest["subset"]["psnr_db"]["n"])
    m["CodeMaxSeedsAboveBlindTop"] = str(sum(
        r["subset"]["psnr_db"] > psnr(blind_top) for r in den["rows"]
        if r["sigma"] == 0.5 and r["method"] == "DAE, code size 128"))
    m["CeilingGap"] = f2(psnr(ceiling) - psnr(dae))
    reference = {r["seed"]: r["subset"]["psnr_db"] for r in den["rows"]
                 if r["sigma"] == 0.5 and r["method"] == CEILING}
    low_ref = {r["seed"]: r["subset"]["psnr_db"] for r in den["rows"]
               if r["sigma"] == 0.2 and r["method"] == CEILING}
    low_dae = {r["seed"]: r["subset"]["psnr_db"] for r in den["rows"]
               if r["sigma"] == 0.2 and r["method"] == "DAE trained at sigma 0.2"}
    from analyses.measures import spread as over_seeds
    m["SweepLowRef"] = spread(over_seeds([low_ref[s] for s in low_dae]), f2)
    m["SweepLowBelowRefSeeds"] = str(sum(low_dae[s] < low_ref[s] for s in low_dae))
    m["SweepLowMaxGapRef"] = f2(max(abs(low_dae[s] - low_ref[s]) for s in low_dae))
    by_width = {}
    for r in den["rows"]:
        if r["sigma"] == 0.5 and r["method"].startswith("DAE, code size "):
            by_width.setdefault(r["seed"], {})[int(r["method"].split()[-1])] = r["subset"]["psnr_db"]
    m["WidthMonotoneSeeds"] = str(sum(
        [v for _, v in sorted(w.items())] == sorted(w.values()) for w in by_width.values()))
    m["DaeBelowCeilingSeeds"] = str(sum(r["subset"]["psnr_db"] < reference[r["seed"]]
                                        for r in den["rows"]
                                        if r["sigma"] == 0.5 and r["method"] == "DAE"))
    m["DaeGapTop"] = f2(psnr(top) - psnr(dae))
    learned = [s for s in at.values() if s["kind"] == "learned"]
    m["BestLearnedSsimAny"] = f3(max(s["subset"]["ssim"]["mean"] for s in learned))
    m["BestLearnedPsnrAny"] = f2(max(psnr(s) for s in learned))
    pca = [s for s in at.values() if s["kind"] == "pca" and "(k tuned)" in s["method"]]
    best_pca = max(pca, key=psnr)
    m["BestPca"] = ("PCA-" + best_pca["method"].split("-")[1].split(" ")[0]
                    + (" (clipping-aware)" if best_pca["method"].endswith(AWARE) else ""))
    m["BestPcaPsnr"] = f2(psnr(best_pca))
    m["PcaEightAwPsnr"] = f2(psnr(at["PCA-8 (the code size), clipping-aware"]))  # the DAE's size
    median = {x["method"]: x for x in den["summary"] if x["sigma"] == 0.5}  # unfiltered
    m["MedianPsnr"], m["MedianAwPsnr"] = (f2(psnr(median["median"])),
                                          f2(psnr(median["median" + AWARE])))
    m["DaeSeedsAbovePca"] = str(sum(v > psnr(best_pca) for v in dae_seeds))
    m["MirroredDaePsnr"] = spread(at["DAE, mirrored decoder"]["subset"]["psnr_db"], f2)
    m["PlainNoisyPsnr"] = spread(at["plain AE fed the noisy input"]["subset"]["psnr_db"], f2)
    m["NoisyPsnr"] = f2(psnr(at["noisy input (no denoising)"]))
    m["CeilingPsnr"] = spread(ceiling["subset"]["psnr_db"], f2)
    m["CeilingSeedsN"] = str(ceiling["subset"]["psnr_db"]["n"])
    m["DaeFullPsnr"] = f2(psnr(dae, "full"))
    m["AwTopFullPsnr"] = "--" if top["full"] is None else f2(psnr(top, "full"))
    m.update(wiener_numbers(den, at, top))
    for key, sigma in (("Low", 0.2), ("High", 1.0)):
        s_at = standing(den, sigma)
        m[f"Sweep{key}Sigma"] = f"{sigma:g}"
        m[f"Sweep{key}Dae"] = spread(s_at[f"DAE trained at sigma {sigma:g}"]["subset"]["psnr_db"],
                                     f2)
        m[f"Sweep{key}AwBm"] = f2(psnr(s_at["BM3D" + AWARE]))
        best = max((s for s in s_at.values() if s["method"].endswith(AWARE)
                    and s["kind"] != "linear"), key=psnr)
        m[f"Sweep{key}AwTop"] = tex_escape(base_name(best["method"]).replace(" (BayesShrink)", ""))
        m[f"Sweep{key}AwTopPsnr"] = f2(psnr(best))
        m[f"Sweep{key}Noisy"] = f2(psnr(s_at["noisy input (no denoising)"]))
        # every filter and PCA, both pipelines: the best of them, and the DAE's seeds above it
        top = max((s for s in s_at.values() if s["kind"] in ("filter", "pca")), key=psnr)
        m[f"Sweep{key}ClassicalTop"] = tex_escape(
            base_name(top["method"]).replace(" (BayesShrink)", ""))
        m[f"Sweep{key}ClassicalTopPsnr"] = f2(psnr(top))
        dae_seeds = [r["subset"]["psnr_db"] for r in den["rows"] if r["sigma"] == sigma
                     and r["method"] == f"DAE trained at sigma {sigma:g}"]
        m[f"Sweep{key}DaeAboveClassical"] = str(sum(p > psnr(top) for p in dae_seeds))
    words = {8: "Eight", 16: "Sixteen", 32: "ThirtyTwo", 64: "SixtyFour", 128: "OneTwentyEight"}
    for w in den["widths"]:
        m[f"Code{words[w]}Psnr"] = mean_sd(at[f"DAE, code size {w}"]["subset"]["psnr_db"], f2)
    # Does a wider network beat the next narrower one beyond the seeds' spread?
    ranges = [at[f"DAE, code size {w}"]["subset"]["psnr_db"] for w in den["widths"]]
    overlaps = [f"{a} and {b}" for a, b, lo, hi in zip(den["widths"], den["widths"][1:], ranges,
                                                       ranges[1:]) if hi["min"] <= lo["max"]]
    m["WidthOverlaps"] = ", ".join(overlaps) or "no pair"
    widest_seeds = [r["subset"]["psnr_db"] for r in den["rows"] if r["sigma"] == 0.5
                    and r["method"] == f"DAE, code size {max(den['widths'])}"]
    m["WidestAboveN"] = str(sum(p > max(r["max"] for r in ranges[:-1]) for p in widest_seeds))

    def numeric(curve):
        return not isinstance(curve["grid"][0], (str, bool))
    values = [(t, name, c) for t in den["tuning"] for name, c in t["parameters"].items()
              if numeric(c)]
    edges = [f"{tex_escape(t['method'])} {tex_escape(name)} at $\\sigma={t['sigma']:g}$"
             for t, name, c in values if c["at_grid_edge"]]
    m["GridNote"] = (f"all {len(values)} tuned numeric values lie inside their grids or at a "
                     f"natural bound" if not edges else
                     f"{len(edges)} of {len(values)} tuned numeric values lie at the edge of "
                     f"their grid ({'; '.join(edges)})")
    m["GridEdges"] = str(len(edges))
    m["TunedBeatsDefaults"] = str(sum(t["tuned_psnr_db"] >= t["default_psnr_db"]
                                      for t in den["tuning"]))
    m["TunedN"] = str(len(den["tuning"]))
    # The examples figure shows each learned model at its seed of median PSNR.
    from analyses.denoiser_figures import median_seed
    m["ExampleDaeSeed"] = str(median_seed(den["rows"], 0.5, "DAE"))
    m["ExampleWideSeed"] = str(median_seed(den["rows"], 0.5, "DAE, code size 128"))
    return m


def wiener_numbers(den, at, top):
    """The Wiener estimator (analyses/linear.py): its scores at sigma 0.5, blind and aware,
    against the best aware filter and every learned seed; and at the other noise levels."""
    aware, blind = at["Wiener (linear MMSE)" + AWARE], at["Wiener (linear MMSE)"]
    m = {"WiePsnr": f2(psnr(aware)), "WieBlindPsnr": f2(psnr(blind)),
         "WieSsim": f3(aware["subset"]["ssim"]["mean"]), "WieMse": f4(aware["subset"]["mse"]["mean"]),
         "WieFullPsnr": f2(psnr(aware, "full")), "WieGapTop": f2(psnr(aware) - psnr(top))}
    seeds = [r["subset"] for r in den["rows"] if r["sigma"] == 0.5 and r["kind"] == "learned"]
    m["WieSeedsAbove"] = str(sum(psnr(aware) > r["psnr_db"] and aware["subset"]["mse"]["mean"]
                                 < r["mse"] for r in seeds))
    m["WieSeedsN"] = str(len(seeds))
    m["LearnedSeedMseMin"] = f4(min(r["mse"] for r in seeds))  # the comparison's networks
    for key, sigma in (("Low", 0.2), ("High", 1.0)):
        s_at = standing(den, sigma)
        m[f"Sweep{key}Wie"] = f2(psnr(s_at["Wiener (linear MMSE)" + AWARE]))
    return m


def tuning_numbers(tun, den):
    """The DAE tuned in learning rate and epochs on the filters' held-out images: its choice,
    its held-out gain over the sheet's setting, its test PSNR over seeds, and the leading
    clipping-aware filter's lead over it."""
    at = standing(den)
    top = max((s for s in at.values() if s["method"].endswith(AWARE) and s["kind"] != "linear"),
              key=psnr)
    lrs, m = tun["lrs"], {}
    m["TunLrGrid"] = ", ".join(f"{lr:g}" for lr in lrs)
    m["TunEvalEvery"], m["TunSeed"] = str(tun["eval_every"]), str(tun["seed"])
    m["TunLrN"] = str(len(lrs))
    m["TunEvalsPerLr"] = str(tun["epochs"]["128"] // tun["eval_every"])
    # the runs whose results the record keeps: each width's latest (--update replaces the rest)
    kept = {max(i for i, r in enumerate(tun["runs"]) if w in r["widths"]) for w in tun["widths"]}
    m["TunWallMinutes"] = f"{sum(tun['runs'][i]['wall_seconds'] for i in kept) / 60:.0f}"
    m["TunWallHours"] = f"{sum(tun['runs'][i]['wall_seconds'] for i in kept) / 3600:.1f}"
    m["TunWallHoursAll"] = f"{sum(r['wall_seconds'] for r in tun['runs']) / 3600:.1f}"
    m["TunTrainImages"] = thousands(tun['train_images'])
    # the untuned DAE at the tuned rows' seeds: the tuning gain at the same seeds
    at_tuned = [r["subset"]["psnr_db"] for r in den["rows"] if r["sigma"] == 0.5
                and r["method"] == "DAE" and r["seed"] in tun["tuned"]["8"]["seeds"]]
    assert len(at_tuned) == len(tun["tuned"]["8"]["seeds"])
    m["DaeAtTunedSeedsPsnr"] = f2(statistics.fmean(at_tuned))
    m["TunSeedsRange"] = f"{min(tun['tuned']['8']['seeds'])}--{max(tun['tuned']['8']['seeds'])}"
    for key, width in (("Dae", "8"), ("Wide", "128")):
        t = tun["tuned"][width]
        curves = {c["lr"]: c["held_out_psnr_db"] for c in tun["curves"] if c["width"] == int(width)}
        m[f"Tun{key}Lr"], m[f"Tun{key}Epochs"] = f"{t['lr']:g}", str(t["epochs"])
        m[f"Tun{key}MaxEpochs"] = str(tun["epochs"][width])
        m[f"Tun{key}EpochAtEdge"] = "yes" if t["epochs"] == tun["epochs"][width] else "no"
        m[f"Tun{key}LrAtEdge"] = "yes" if at_edge(t["lr"], lrs) else "no"
        m[f"Tun{key}Psnr"] = spread(t["subset_psnr_db"], f2)
        m[f"Tun{key}Ssim"] = mean_sd(t["subset_ssim"], f3)
        m[f"Tun{key}SsimMean"] = f3(t["subset_ssim"]["mean"])
        m[f"Tun{key}SeedsN"] = str(t["subset_psnr_db"]["n"])
        m[f"Tun{key}Seeds"] = ", ".join(map(str, t["seeds"]))
        best = curves[t["lr"]][str(t["epochs"])]
        m[f"Tun{key}HeldOutGain"] = f2(best - curves[1e-3]["50"])  # over the sheet's lr, 50 ep.
        last = sorted(curves[t["lr"]], key=int)
        # the chosen curve's last 100 epochs: its rise and its range (is it still climbing?)
        tail = [curves[t["lr"]][e] for e in last if int(e) >= int(last[-1]) - 100]
        m[f"Tun{key}TailGain"] = f2(tail[-1] - tail[0])
        m[f"Tun{key}TailRange"] = f2(max(tail) - min(tail))
        m[f"Tun{key}TailFrom"] = str(int(last[-1]) - 100)
        m[f"Tun{key}GapTop"] = f2(psnr(top) - t["subset_psnr_db"]["mean"])
        # on the test images, over the untuned network (the sheet's lr, 50 epochs) at the same seeds
        untuned = {r["seed"]: r["subset"]["psnr_db"] for r in den["rows"] if r["sigma"] == 0.5
                   and r["method"] == ("DAE" if width == "8" else "DAE, code size 128")}
        common = [sd for sd in t["seeds"] if sd in untuned]
        m[f"Tun{key}TestGain"] = f2(sum(t["per_seed"][str(sd)]["subset"]["psnr_db"] - untuned[sd]
                                        for sd in common) / len(common))
        m[f"Tun{key}TestGainSeeds"] = ", ".join(map(str, common))
        m[f"Tun{key}TestLower"] = str(sum(t["per_seed"][str(sd)]["subset"]["psnr_db"]
                                          < untuned[sd] for sd in common))
        m[f"Tun{key}TestGainN"] = str(len(common))
        m[f"Tun{key}TestHigher"] = str(len(common) - int(m[f"Tun{key}TestLower"]))
        m[f"Tun{key}GapBm"] = f2(psnr(at["BM3D" + AWARE]) - t["subset_psnr_db"]["mean"])
        m[f"Tun{key}GapSds"] = f"{(psnr(at['BM3D' + AWARE]) - t['subset_psnr_db']['mean']) / t['subset_psnr_db']['sd']:.1f}"
        m[f"Tun{key}SeedsAboveTop"] = str(sum(v["subset"]["psnr_db"] > psnr(top)
                                              for v in t["per_seed"].values()))
    learned = [s for s in at.values() if s["kind"] == "learned"]
    m["BestLearnedSsimSeed"] = f3(max(  # the best single network by SSIM
        [r["subset"]["ssim"] for r in den["rows"] if r["sigma"] == 0.5 and r["kind"] == "learned"]
        + [v["subset"]["ssim"] for t in tun["tuned"].values() for v in t["per_seed"].values()]))
    m["BestLearnedSsimAll"] = f3(max([s["subset"]["ssim"]["mean"] for s in learned]
                                     + [t["subset_ssim"]["mean"] for t in tun["tuned"].values()]))
    return m


def longer_numbers(lon):
    """The tuned widened DAE trained past the tuning's grid: the epoch its held-out images
    choose, its held-out rise over the last 100 epochs, its test PSNR there against the two
    clipping-aware filters."""
    filters = {k.removesuffix(AWARE): v for k, v in lon["filters_test_psnr_db"].items()}
    test = lon["test_at_chosen"]
    points = [p for c in lon["curves"].values() for p in c["test"].values()]
    gain = lon["held_out_gain_after"]
    last = max(gain, key=int)
    return {
        "LongEpochs": str(lon["epochs"]), "LongSeeds": ", ".join(map(str, lon["seeds"])),
        "LongChosenEpoch": str(lon["chosen_epoch"]),
        "LongAtEdge": "yes" if lon["chosen_epoch"] == lon["epochs"] else "no",
        "LongTailGain": f2(gain[last] - gain[str(int(last) - 100)]),
        # at how many seeds the held-out PSNR rose over those last 100 epochs
        "LongTailRising": str(sum(c["held_out"][last] > c["held_out"][str(int(last) - 100)]
                                  for c in lon["curves"].values())),
        "LongSeedsN": str(len(lon["curves"])),
        "LongTestAtChosen": spread(test, f2),
        "LongTestAtMean": f2(test["mean"]),
        "LongWallHours": f"{lon['wall_seconds'] / 3600:.1f}",
        "LongGapBm": f2(filters["BM3D"] - test["mean"]),
        "LongGapTop": f2(filters["non-local means"] - test["mean"]),
        "LongGapTopRange": "--".join(f2(filters["non-local means"] - x)
                                     for x in (test["max"], test["min"])),
        "LongCaption": ("no seed reaches BM3D with the library's blocks (dotted) at any "
                        "epoch" if max(points) < filters["BM3D"] else
                        "some seed passes BM3D with the library's blocks (dotted) at some epoch")}


def width_choice_numbers(wc):
    """The width the held-out images choose at the sheet's settings, the widths tried, and
    the settings and time of that run."""
    return {"WcWidths": f"{min(wc['widths'])}--{max(wc['widths'])}",
            "WcEpochs": str(wc["epochs"]), "WcSeed": str(wc["seed"]), "WcLr": f"{wc['lr']:g}",
            "WcChosen": str(wc["chosen"]["width"]),
            "WcWallMinutes": f"{wc['wall_seconds'] / 60:.0f}"}


def wide_numbers(wide, tun):
    """The held-out images' width trained longer (analyses/wide_tuning.py): its held-out
    choice, its rise over the last 50 epochs, its test PSNR there, and the tuned widened DAE's
    best held-out score (the same seed) beside it."""
    chosen = wide["chosen"]
    curve = next(c["held_out_psnr_db"] for c in wide["curves"] if c["lr"] == chosen["lr"])
    last = max(curve, key=int)
    ref = wide["reference"]
    ref_epoch = str(tun["tuned"][str(ref["width"])]["epochs"])
    return {"WtWidth": str(wide["width"]), "WtEpochs": str(wide["epochs"]),
            "WtSeed": str(wide["seed"]),
            "WtLrs": ", ".join(f"{lr:g}" for lr in wide["lrs"][:-1]) + f" and {wide['lrs'][-1]:g}",
            "WtLrN": str(len(wide["lrs"])),
            "WtLr": f"{chosen['lr']:g}", "WtEpoch": str(chosen["epoch"]),
            "WtLrPlace": ("the lowest tried" if chosen["lr"] == min(wide["lrs"]) else
                          "the highest tried" if chosen["lr"] == max(wide["lrs"]) else
                          "inside its grid"),
            "WtAtLast": "yes" if chosen["at_last_epoch"] else "no",
            "WtHeld": f2(chosen["held_out_psnr_db"]), "WtTest": f2(chosen["test_psnr_db"]),
            "WtTailGain": f2(curve[last] - curve[str(int(last) - 50)]),
            "WtRefWidth": str(ref["width"]), "WtRefEpoch": ref_epoch,
            "WtRefHeld": f2(ref["held_out_psnr_db"][ref_epoch]),
            "WtWallMinutes": f"{wide['wall_seconds'] / 60:.0f}"}


def beta1_numbers(b1, dead_seeds):
    """The other reading of "momentum 1e-5" (Adam's beta1, no weight decay) beside the
    sheet's runs: at the dead start, and over the seeds that start alive."""
    per_seed = {int(s): v for s, v in b1["per_seed"].items()}
    dead = [s for s in per_seed if s in dead_seeds]
    alive = sorted(s for s in per_seed if s not in dead_seeds)

    def over(key):  # the seeds that start alive
        return {"mean": statistics.fmean(per_seed[s][key] for s in alive),
                "sd": statistics.stdev(per_seed[s][key] for s in alive),
                "min": min(per_seed[s][key] for s in alive),
                "max": max(per_seed[s][key] for s in alive)}
    diffs = [per_seed[s]["beta1_test_loss"] - per_seed[s]["sheet_test_loss"] for s in alive]
    m = {"BetaOneSeeds": f"{min(per_seed)}--{max(per_seed)}",
         "BetaOneAliveSeeds": f"{alive[0]}--{alive[-1]}", "BetaOneAliveN": str(len(alive)),
         "BetaOneMse": spread(over("beta1_test_loss"), f4),
         "BetaOneSheetMse": spread(over("sheet_test_loss"), f4),
         "BetaOneDiffRange": f"[${min(diffs):+.4f}$, ${max(diffs):+.4f}$]",
         "BetaOneLower": str(sum(d < 0 for d in diffs)),
         "BetaOneDiffCi": t_interval(diffs, 4)}
    if dead:
        d = per_seed[dead[0]]
        m["BetaOneDeadSeed"] = str(dead[0])
        m["BetaOneDeadMse"] = f4(d["beta1_test_loss"])
        m["BetaOneDeadSheetMse"] = f4(d["sheet_test_loss"])
        m["BetaOneDeadDecoderUnits"] = str(d["beta1_live_decoder_units"])
    return m


def paired_t_p(p):
    """Two-sided p of the paired t test that a mean per-image difference is 0."""
    from scipy.stats import t
    return float(2 * t.sf(abs(p["mean"]) / (p["sd"] / p["n"] ** 0.5), p["n"] - 1))


def corrected_p(difference, family):
    """The paired t test p of a difference, Bonferroni-corrected for `family` tests, as text."""
    return p_text(min(1.0, paired_t_p(difference) * family))


def p_text(p):
    return "<0.001" if p < 0.001 else f"{p:.3f}" if p < 0.1 else f"{p:.2f}"


def corrected_interval(d, family):
    """(low, high): the 95 % t interval of a paired difference's mean over its n images,
    Bonferroni-corrected for `family` intervals (family 1: the analyses' own ci95)."""
    from scipy.stats import t
    half = t.ppf(1 - 0.025 / family, d["n"] - 1) * d["sd"] / d["n"] ** 0.5
    return d["mean"] - half, d["mean"] + half


def mse_difference(d, family):
    """A paired MSE difference and its corrected interval as text: "$-0.0033$ [$-0.0039$, ...]"."""
    low, high = corrected_interval(d, family)
    return f"${d['mean']:+.4f}$ [${low:+.4f}$, ${high:+.4f}$]"


def db_difference(p, family):
    """A paired difference and its corrected interval as text: "+2.64 dB [+2.52, +2.77]"; a
    bound that two decimals would round to a signed zero gets three."""
    low, high = (number(x) for x in corrected_interval(p, family))

    def bound(x):
        return f"{x:+.3f}" if 0 < abs(x) < 0.005 else f"{x:+.2f}"
    return f"${number(p['mean']):+.2f}$\\,dB [${bound(low)}$, ${bound(high)}$]"


def beyond_family(pairs, blocks, prior, vst):
    """The number of image-by-image differences the denoising part beyond the sheet computes,
    the one family its paired t tests are Bonferroni-corrected for: analyses/paired.py's (each
    pair by PSNR and by MSE, and each aware-minus-blind gain), bm3d_blocks', patch_prior's
    (each pair by PSNR and by MSE), leaders' (its pair and the dictionary against stabilised
    BM3D, each by PSNR and by MSE, and stabilised BM3D's gain) and vst's stabilised-minus-aware
    gains. The size of the family, and its parts in that order (the leaders' pairs and gains as
    one part)."""
    parts = (2 * len(pairs["pairs"]), len(pairs["aware_minus_blind"]),
             2 * len(blocks["pairs"]) + 2 * len(prior["pairs"]) + 5, len(vst["methods"]))
    return sum(parts), parts


def leaders_numbers(lead, family):
    """The dictionary minus BM3D with tuned blocks, image by image (analyses/leaders.py), by
    PSNR and by MSE; that BM3D through the stabiliser, its gain and the dictionary minus it;
    each paired t test p Bonferroni-corrected for the family."""
    vst = lead["stabilised"]
    gain, diff = vst["minus_aware"], vst["dictionary_minus"]
    return {"LdDiff": db_difference(lead, family), "LdShare": pct(lead["share_ahead"]),
            "LdPAll": corrected_p(lead, family), "LdMsePAll": corrected_p(lead["mse"], family),
            "LdMseLeads": "yes" if corrected_interval(lead["mse"], family)[1] < 0 else "no",
            "LdVstPsnr": f2(vst["test_psnr_db"]),
            "LdVstFactor": f"{vst['chosen']['sigma_factor']:g}",
            "LdVstEdge": "yes" if vst["parameters"]["sigma_factor"]["at_grid_edge"] else "no",
            "LdVstGain": db_difference(gain, family), "LdVstGainPAll": corrected_p(gain, family),
            "LdVstDiff": db_difference(diff, family), "LdVstDiffPAll": corrected_p(diff, family),
            "LdVstDiffP": p_text(paired_t_p(diff)),  # uncorrected
            "LdVstMsePAll": corrected_p(diff["mse"], family),
            "LdVstMseSign": "lower" if diff["mse"]["mean"] < 0 else "higher"}


def leads_table(lead, blocks, prior, pairs, vst, family):
    """Section 4's image-by-image differences, one row each: the gains from telling non-local
    means the clipping, from stabilising BM3D and from tuning its blocks; then the leads: the
    dictionary over BM3D with tuned blocks (as is and stabilised), each of the two over the
    Wiener estimator and over the best network, the Wiener estimator over that network. PSNR
    difference with its interval, p, and whether MSE leads too (gains: not compared), all
    Bonferroni-corrected for the family."""
    wiener = "Wiener (linear MMSE), clipping-aware"
    best = next(p for p in blocks["pairs"] if p["other"].startswith("DAE"))["other"]

    def pair(record, other):
        return next(p for p in record["pairs"] if p["other"] == other)
    rows = [("non-local means, aware", "non-local means, blind",
             next(g for g in pairs["aware_minus_blind"] if g["filter"] == "non-local means")),
            ("BM3D, stabilised", "BM3D", vst["methods"]["BM3D"]["stabilised_minus_aware"]),
            ("BM3D, blocks tuned", "BM3D", pair(blocks, "BM3D, clipping-aware")),
            ("BM3D, blocks tuned, stabilised", "BM3D, blocks tuned", lead["stabilised"]["minus_aware"]),
            ("dictionary", "BM3D, blocks tuned", lead),
            ("dictionary", "BM3D, blocks tuned, stabilised",
             lead["stabilised"]["dictionary_minus"]),
            ("dictionary", "Wiener", pair(prior, wiener)),
            ("BM3D, blocks tuned", "Wiener", pair(blocks, wiener)),
            ("dictionary", "widened DAE", pair(prior, best)),
            ("BM3D, blocks tuned", "widened DAE", pair(blocks, best)),
            ("Wiener", "widened DAE", next(p for p in pairs["pairs"] if p["filter"] == wiener
                                           and p["learned"] == best))]
    lines = []
    for method, other, d in rows:
        mse = "--"
        if "mse" in d:
            low, high = corrected_interval(d["mse"], family)
            mse = "leads" if high < 0 else "trails" if low > 0 else "not detected"
        lines.append(f"{method} & {other} & {db_difference(d, family)} & "
                     f"${corrected_p(d, family)}$ & {mse} \\\\")
    return "\n".join(lines)


def blocks_numbers(blocks, family):
    """BM3D with its block size and step tuned for 28x28 images (analyses/bm3d_blocks.py):
    its choice, its test PSNR, and its image-by-image leads, each paired t test p
    Bonferroni-corrected for the family of beyond_family."""
    aware, blind = blocks["pipelines"]["clipping-aware"], blocks["pipelines"]["blind"]
    m = {"BbTuneImages": str(blocks["tune_images"]), "BbBlock": str(aware["chosen"]["block"]),
         "BbStep": str(aware["chosen"]["step"]), "BbPsnr": f2(aware["test"]["psnr_db"]),
         "BbSsim": f3(aware["test"]["ssim"]), "BbBlindPsnr": f2(blind["test"]["psnr_db"]),
         "BbHeldGain": f"{aware['tuned_psnr_db'] - aware['library_tuned_psnr_db']:+.2f}",
         "BbTuneMinutes": f"{sum(r['tuning_seconds'] for r in (aware, blind)) / 60:.0f}",
         "BbEdges": str(sum(len(r["at_grid_edge"]) for r in (aware, blind)))}
    keys = {"BM3D, clipping-aware": "Bm", "Wiener (linear MMSE), clipping-aware": "Wie"}
    for p in blocks["pairs"]:
        key = "Bb" + keys.get(p["other"], "WideLong")
        m[key] = db_difference(p, family)
        d = p["mse"]
        m[key + "Mse"] = mse_difference(d, family)
        m[key + "PAll"] = corrected_p(p, family)
        m[key + "MsePAll"] = corrected_p(d, family)
    m["BbPooled"] = f2(blocks["pooled_psnr_db"]["BM3D, clipping-aware, blocks tuned"])
    return m


def prior_numbers(prior, family):
    """Sparse coding over a dictionary learned from the training images
    (analyses/patch_prior.py): its choice, its test PSNR, its image-by-image differences, each
    paired t test p Bonferroni-corrected for the family of beyond_family."""
    aware, blind = prior["pipelines"]["clipping-aware"], prior["pipelines"]["blind"]
    m = {"PpPsnr": f2(aware["test"]["psnr_db"]), "PpBlindPsnr": f2(blind["test"]["psnr_db"]),
         "PpSsim": f3(aware["test"]["ssim"]), "PpPatch": str(aware["chosen"]["patch"]),
         "PpAtoms": str(aware["chosen"]["atoms"]),
         "PpLearnPatches": thousands(prior['learn_patches']),
         "PpTuneImages": str(prior["tune_images"]), "PpSeed": str(prior["seed"]),
         "PpWallMinutes": f"{prior['wall_seconds'] / 60:.0f}"}
    for p in prior["pairs"]:
        key = "Pp" + ("Wie" if p["other"].startswith("Wiener") else "WideLong")
        m[key] = db_difference(p, family)
        m[key + "PAll"] = corrected_p(p, family)
    return m


def vst_numbers(vst, family):
    """Non-local means and BM3D through the variance-stabilising transform against their
    clipping-aware pipeline, image by image; how far the transform evens out the noise's sd."""
    m = {"VstSdMin": f2(vst["stabilised_sd"]["min"]), "VstSdMax": f2(vst["stabilised_sd"]["max"]),
         "VstRawSdMin": f2(vst["raw_sd"]["min"]), "VstRawSdMax": f2(vst["raw_sd"]["max"]),
         "VstSdBackground": f2(vst["stabilised_sd"]["at_background"])}
    for key, sd in (("VstRawSdSpan", vst["raw_sd"]), ("VstSdSpan", vst["stabilised_sd"])):
        m[key] = f2(round(sd["max"], 2) - round(sd["min"], 2))  # its printed ends apart
    for key, sd in (("VstRawSdDev", vst["raw_sd"]), ("VstSdDev", vst["stabilised_sd"])):
        m[key] = f2(max(abs(sd[end] - vst["sigma"]) for end in ("min", "max")))
    for key, name in (("Nlm", "non-local means"), ("Bm", "BM3D")):
        m[f"Vst{key}Gain"] = db_difference(vst["methods"][name]["stabilised_minus_aware"],
                                             family)
    return m


def paired_numbers(pairs, family):
    """Filter minus learned model, image by image: mean and 95 % interval, share ahead; each
    paired t test p uncorrected and Bonferroni-corrected for the family of beyond_family."""
    from analyses.paired import tuned_label
    learned = {"DAE": "Dae", "DAE, code size 128": "Wide", tuned_label(8): "DaeTuned",
               tuned_label(128): "WideTuned"}
    learned.update({label: "WideLong" for label in pairs["tuned_networks"]
                    if label.startswith(tuned_label(128) + ", ")})  # trained longer
    learned.update({label: "Wider" for label in pairs["tuned_networks"]
                    if ", seed " in label})  # the held-out images' width (wide-tuning)

    m = {}
    short = {"non-local means": "Nlm", "BM3D": "Bm", "total variation": "Tv",
             "Wiener (linear MMSE)": "Wie", "Wiener (linear MMSE) of rank 128": "WieRank"}

    def pipeline(method):  # "" for the clipping-aware pipeline
        return {"clipping-aware": "", "stabilised": "Vst"}.get(
            method.split(", ")[-1] if ", " in method else "blind", "Blind")
    for p in pairs["pairs"]:
        name = ("Paired" + pipeline(p["filter"]) + short[p["filter"].split(",")[0]]
                + learned[p["learned"]])
        m[name] = db_difference(p, family)
        m[name + "Share"] = pct(p["share_ahead"])
    for g in pairs["aware_minus_blind"]:
        m["PairedGain" + short[g["filter"]]] = db_difference(g, family)
        m["PairedGain" + short[g["filter"]] + "PAll"] = corrected_p(g, family)
    m["PairedImages"] = thousands(pairs['images'])
    # The leads the report lists: the clipping-aware estimators against each tuned network.
    # Each one's two-sided paired t test p, uncorrected and corrected; by MSE too, with the
    # PSNR of the MSE pooled over images.
    listed = [p for p in pairs["pairs"] if p["learned"] in pairs["tuned_networks"]
              and p["filter"] in ("non-local means, clipping-aware", "BM3D, clipping-aware",
                                  "Wiener (linear MMSE), clipping-aware",
                                  "Wiener (linear MMSE) of rank 128, clipping-aware",
                                  "non-local means, stabilised", "BM3D, stabilised")]
    pooled, keys = pairs["pooled_psnr_db"], {}
    for p in listed:
        keys[p["filter"]] = pipeline(p["filter"]) + short[p["filter"].split(",")[0]]
        keys[p["learned"]] = learned[p["learned"]]
        name = "Paired" + keys[p["filter"]] + keys[p["learned"]]
        m[name + "P"] = p_text(paired_t_p(p))
        m[name + "PAll"] = corrected_p(p, family)
        d = p["mse"]
        m[name + "Mse"] = mse_difference(d, family)
        m[name + "MsePAll"] = corrected_p(d, family)
    for method, key in keys.items():  # each listed method's pooled PSNR, and what pooling costs
        m["Pooled" + key] = f2(pooled[method])
        m["PoolingLoss" + key] = f2(pairs["mean_psnr_db"][method] - pooled[method])
    return m


def mirrored_numbers(mir):
    m = {}
    dead = mir["dead_at_start"]
    names = list(dead)
    m["MirScanLast"] = str(mir["scan_seeds"] - 1)
    def seeds_text(found):
        return "none" if not found else ("seed " if len(found) == 1 else "seeds ") + ", ".join(
            map(str, found))
    m["MirDeadPrinted"], m["MirDeadMirrored"] = (seeds_text(dead[n]) for n in names[:2])
    m["MirSeedsN"] = str(len(mir["seeds"]))
    m["MirSeedsList"] = f"{min(mir['seeds'])}--{max(mir['seeds'])}"
    for key, label in (("Printed", names[0]), ("Mirrored", names[1])):
        for mode_key, mode in (("Plain", "plain"), ("Denoise", "denoise")):
            s = mir["summary"][f"{label}, {mode}"]
            m[f"Mir{key}{mode_key}Mse"] = spread(s["test_mse"], f4)
            m[f"Mir{key}{mode_key}Knn"] = spread(
                {k: 100 * v if k != "n" else v for k, v in s["knn5_accuracy"].items()}, f1)
            m[f"Mir{key}{mode_key}Psnr"] = spread(s["denoising_psnr_db"], f2)
    rows = {(r["decoder"], r["mode"], r["seed"]): r for r in mir["rows"]}
    for mode_key, mode in (("Plain", "plain"), ("Denoise", "denoise")):
        for key, measure, better in (("Mse", "test_mse", lambda a, b: a < b),
                                     ("Knn", "knn5_accuracy", lambda a, b: a > b),
                                     ("Psnr", "denoising_psnr_db", lambda a, b: a > b)):
            m[f"MirBetter{mode_key}{key}"] = str(sum(
                better(rows[(names[1], mode, s)][measure], rows[(names[0], mode, s)][measure])
                for s in mir["seeds"]))
    d = mir["paired_differences"]["denoise: denoising_psnr_db, mirrored minus printed"]
    m["MirPsnrGain"] = spread(d, f2)
    d = mir["paired_differences"]["plain: test_mse, mirrored minus printed"]
    m["MirMseGain"] = spread(d, f4)
    d = mir["paired_differences"]["plain: knn5_accuracy, mirrored minus printed"]
    m["MirKnnGain"] = spread({k: 100 * v if k != "n" else v for k, v in d.items()}, f1)
    def by_seed(mode, measure):  # mirrored minus printed, paired by seed
        return {s: rows[(names[1], mode, s)][measure] - rows[(names[0], mode, s)][measure]
                for s in mir["seeds"]}
    gains = by_seed("plain", "test_mse")
    m["MirMseGainCi"] = t_interval(list(gains.values()), 4)  # uncorrected
    psnr_gains = list(by_seed("denoise", "denoising_psnr_db").values())
    m["MirPsnrGainCi"] = t_interval(psnr_gains, 2)
    # corrected for the table's three paired measures (MSE, 5-NN accuracy, PSNR)
    m["MirPsnrGainCiCorr"] = t_interval(psnr_gains, 2, family=3)
    m["MirMseGainLargestSeed"] = str(min(gains, key=gains.get))
    m["MirMseGainLargest"] = f4(min(gains.values()))
    m["MirBetterPlainMseOtherSeeds"] = str(sum(
        g < 0 for seed, g in gains.items() if str(seed) != m["MirMseGainLargestSeed"]))
    m["MirOtherSeedsN"] = str(len(gains) - 1)
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
    if not root.is_dir():
        sys.exit(f"error: {root} is not a folder: give the project folder (the one holding "
                 f"figures/ and report/)")
    import ex09
    try:
        text = render(*collect(root))
    except FileNotFoundError as err:
        sys.exit(f"error: {err.filename} is missing: the report's numbers come from the results "
                 f"of `python tools/reproduce.py` (or of the step that writes that file); "
                 f"{out} is unchanged")
    except OSError as err:  # a folder where a file belongs, a file that cannot be read
        sys.exit(f"error: cannot read {err.filename}: {err.strerror or err}; {out} is unchanged")
    except ex09.UsageError as err:  # a run refused by the run store: its own message
        sys.exit(f"error: {' '.join(line.strip() for line in str(err).splitlines())} "
                 f"({out} is unchanged)")
    except (ValueError, KeyError, TypeError, IndexError, StopIteration, ArithmeticError,
            AttributeError, statistics.StatisticsError) as err:
        # every field is used as it is read, so a wrong kind or value surfaces as one of these
        sys.exit(f"error: a result file under {root} is damaged or from an older version "
                 f"({type(err).__name__}: {err}); regenerate it; {out} is unchanged")
    try:  # the whole file or, on a full disk, the old one (never a file cut mid-macro)
        publishing.write_atomically(out, text)
    except OSError as err:
        sys.exit(f"error: cannot write {out}: {err.strerror or err}")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    main()
