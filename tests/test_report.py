"""The report's numbers come from the files the runs wrote: the generated include matches the
JSON/CSV, and the committed report/numbers.tex is what the generator makes of the committed
results (so a stale number cannot land)."""

import csv
import io
import json
import re
import shutil
import statistics
import subprocess
import sys
import tarfile

import numpy as np
import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "report"))
import make_numbers  # noqa: E402

FIG = ROOT / "figures"
NEEDED = [FIG / "plain" / "metrics.json", FIG / "denoise" / "metrics.json",
          FIG / "compare" / "comparison.json", FIG / "q1" / "q1_results.json",
          FIG / "seeds" / "seeds.json", FIG / "revival" / "revival.json",
          FIG / "denoisers" / "denoisers.json", FIG / "mirrored" / "mirrored.json",
          FIG / "paired" / "paired.json", FIG / "dae_tuning" / "dae_tuning.json",
          ROOT / "benchmarks" / "results" / "bench.json"]
pytestmark = pytest.mark.skipif(not all(p.exists() for p in NEEDED),
                                reason="committed results not present")


def macros(text):
    return dict(re.findall(r"^\\newcommand\{\\(\w+)\}\{(.*)\}$", text, re.MULTILINE))


def committed_state(root, into):
    """The committed results and include of the project at `root`, read from git into `into`:
    the user's own runs rewrite figures/ in the working tree, with their machine's timings, and
    must not fail this check. Where there is no git (the hand-in ZIP), the working tree."""
    if shutil.which("git") is None or subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--verify", "HEAD"],
            capture_output=True).returncode != 0:
        return root
    archive = subprocess.run(["git", "-C", str(root), "archive", "HEAD", "figures",
                              "benchmarks/results", "report/numbers.tex"],
                             capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        try:
            tar.extractall(into, filter="data")
        except TypeError:  # Python before 3.10.12 / 3.11.4: no filter argument
            tar.extractall(into)
    return into


def include_matches_results(root):
    return (root / "report" / "numbers.tex").read_text() == make_numbers.render(
        *make_numbers.collect(root))


def test_committed_include_is_what_the_generator_makes_of_the_committed_results(tmp_path):
    assert include_matches_results(committed_state(ROOT, tmp_path))


def test_a_users_own_default_run_does_not_fail_the_check_of_committed_files(tmp_path):
    """The README's order: set up, run both modes (which rewrite figures/plain and
    figures/denoise with this machine's timings), then the tests."""
    if shutil.which("git") is None or subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--verify", "HEAD"],
            capture_output=True).returncode != 0:
        pytest.skip("not a git checkout (a copy of the files, as tools/plant_bugs.py makes)")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(ROOT), str(clone)], check=True)
    for mode in ("plain", "denoise"):
        path = clone / "figures" / mode / "metrics.json"
        metrics = json.loads(path.read_text())
        metrics["seconds"] = {k: v * 1.7 + 3 if isinstance(v, (int, float)) else v
                              for k, v in metrics["seconds"].items()}
        metrics["versions"]["torch"] = "2.14.1"
        path.write_text(json.dumps(metrics))
    assert not include_matches_results(clone)  # the working tree now differs ...
    assert include_matches_results(committed_state(clone, tmp_path / "committed"))  # ... HEAD not


def test_include_matches_the_json_files():
    m = macros((ROOT / "report" / "numbers.tex").read_text())
    plain = json.loads((FIG / "plain" / "metrics.json").read_text())
    denoise = json.loads((FIG / "denoise" / "metrics.json").read_text())
    comp = json.loads((FIG / "compare" / "comparison.json").read_text())
    q1 = json.loads((FIG / "q1" / "q1_results.json").read_text())
    seeds = json.loads((FIG / "seeds" / "seeds.json").read_text())
    den = json.loads((FIG / "denoisers" / "denoisers.json").read_text())
    revival = json.loads((FIG / "revival" / "revival.json").read_text())
    assert float(m["PlainFinalTest"]) == pytest.approx(plain["final_test_loss"], abs=5e-5)
    assert float(m["PlainFinalTrain"]) == pytest.approx(plain["final_train_loss"], abs=5e-5)
    assert float(m["DenoiseFinalTest"]) == pytest.approx(denoise["final_test_loss"], abs=5e-5)
    assert m["Epochs"] == str(plain["config"]["epochs"]) == "50"  # committed from a default run
    assert m["NoiseStd"] == f"{denoise['config']['noise_std']:g}"
    knn = {r["code"]: r["knn5_accuracy"] for r in comp["codes"]}
    assert m["PixelsKnn"] == f"{100 * knn['raw pixels']:.1f}\\,\\%"
    assert m["QOneSgdLr"] == f"{q1['variants']['stochastic']['lr']:g}"
    assert float(m["QOneOptimum"]) == pytest.approx(q1["optimum_loss"], abs=5e-5)
    s = seeds["summary"]["plain"]["test_mse"]
    assert m["SeedsPlainMse"].startswith(f"{s['mean']:.4f}~$\\pm$~{s['sd']:.4f}")
    assert m["SeedsN"] == str(len(seeds["seeds"])) and int(m["SeedsN"]) >= 5
    assert m["RevivalAdamStep"] == str(
        revival["variants"]["Adam, weight decay 1e-5 (the sheet's)"]["first_step_with_a_live_decoder_unit"])
    # The denoising table: the DAE row is the mean over the seeds' rows at sigma 0.5, on the
    # subset; the table is ranked; the headline counts are the rows' own.
    daes = [r["subset"]["psnr_db"] for r in den["rows"] if r["sigma"] == 0.5
            and r["method"] == "DAE"]
    assert len(daes) == int(m["DaeSeedsN"]) >= 3
    assert float(m["DaePsnrMean"]) == pytest.approx(sum(daes) / len(daes), abs=0.005)
    assert m["DaePsnr"].startswith(f"{sum(daes) / len(daes):.2f}~$\\pm$~")
    table = make_numbers.collect(ROOT)[1]["DenoiseTableRows"]

    def first_number(cell):
        found = re.search(r"\d+\.\d+", cell)
        return float(found[0]) if found else None
    # three groups, each ranked by the better pipeline: classical, learned, the references
    starts = [0] + [i for i, row in enumerate(table) if row[0].startswith("\\midrule")]
    groups = [table[a:b] for a, b in zip(starts, starts[1:] + [len(table)])]
    assert len(groups) == 3 and len(groups[2]) == 2
    assert all("multicolumn" not in row[2] for row in groups[0])  # no learned row among them
    assert all("multicolumn" in row[2] for row in groups[1])
    for rows in groups[:2]:
        best = [max(x for x in (first_number(row[2]), first_number(row[3])) if x is not None)
                for row in rows]
        assert best == sorted(best, reverse=True)
    assert "clean" in table[-1][0] and "noisy input" in table[-2][0]  # apart, last
    summary = {s["method"]: s for s in den["summary"] if s["sigma"] == 0.5}
    bm3d_row, = [row for row in table if row[0] == "BM3D"]
    assert first_number(bm3d_row[2]) == pytest.approx(
        summary["BM3D"]["subset"]["psnr_db"]["mean"], abs=0.005)
    assert first_number(bm3d_row[3]) == pytest.approx(
        summary["BM3D, clipping-aware"]["subset"]["psnr_db"]["mean"], abs=0.005)
    dae_row, = [row for row in table if row[0].startswith("\\textbf{DAE")]
    assert first_number(dae_row[2]) == pytest.approx(sum(daes) / len(daes), abs=0.005)
    # The loss table has one row per test evaluation, with the run's own test losses.
    rows = make_numbers.collect(ROOT)[1]["LossTableRows"]
    assert [int(r[0]) for r in rows] == [int(e) for e in plain["test_loss_by_epoch"]]
    assert [float(r[2]) for r in rows] == pytest.approx(
        list(plain["test_loss_by_epoch"].values()), abs=5e-5)


def test_report_cites_only_macros_that_exist():
    defined = set(macros((ROOT / "report" / "numbers.tex").read_text()))
    defined |= set(re.findall(r"\\newcommand\{\\(\w+)\}\{%",
                              (ROOT / "report" / "numbers.tex").read_text()))
    used = set()
    for tex in (ROOT / "report").glob("*.tex"):
        if tex.name != "numbers.tex":
            used |= set(re.findall(r"\\((?:Plain|Denoise|Linear|Seed|Pca|Psnr|QOne|Bench|Pixels|"
                                   r"Worst|Best|Epochs|Batch|Noise|Tsne|Torch|Python|Revival|"
                                   r"Dae|Sweep|Width|Tune|Grid|Test|Cpu|Threads)\w*)",
                                   tex.read_text()))
    assert used, "the report cites no generated numbers"
    assert used <= defined, f"undefined: {sorted(used - defined)}"


def included_figures():
    """(file, include width in inches) of every \\includegraphics in the report's .tex files."""
    main = (ROOT / "report" / "report.tex").read_text()
    margin_cm = float(re.search(r"\\usepackage\[margin=([\d.]+)cm\]\{geometry\}", main)[1])
    assert "a4paper" in main
    text_width_in = (21.0 - 2 * margin_cm) / 2.54
    found = []
    for tex in sorted((ROOT / "report").glob("*.tex")):
        for options, name in re.findall(r"\\includegraphics\[([^]]*)\]\{([^}]*)\}",
                                        tex.read_text()):
            width = re.fullmatch(r"width=([\d.]*)\\textwidth", options.strip())
            assert width, f"{tex.name}: give {name} a width in \\textwidth, not {options!r}"
            found.append((FIG / name, float(width[1] or 1) * text_width_in))
    return found


def test_every_figure_prints_its_smallest_text_at_7pt_or_more():
    from PIL import Image
    figures = included_figures()
    assert len(figures) >= 8
    for path, include_in in figures:
        info = Image.open(path).info
        assert "SmallestFontPt" in info, f"{path} was not saved by ex09.save (no font record)"
        printed = float(info["SmallestFontPt"]) * include_in / float(info["WidthInches"])
        assert printed >= 7.0, f"{path.relative_to(ROOT)}: smallest text prints at {printed:.1f} pt"


def test_font_record_is_the_smallest_text_of_the_figure(tmp_path):
    import ex09
    plt = ex09._matplotlib()
    fig, ax = plt.subplots(figsize=(4.0, 3.0))
    ax.plot([1, 2], [3, 4])
    ax.set_xlabel("x", fontsize=12)
    ax.tick_params(axis="y", labelsize=5.5)  # tick labels exist only once drawn: must count
    ex09.save(fig, tmp_path / "f.png")
    from PIL import Image
    info = Image.open(tmp_path / "f.png").info
    assert float(info["SmallestFontPt"]) == 5.5 and float(info["WidthInches"]) == 4.0


def test_listing_holds_the_sheets_code_first_then_every_analysis_and_names_the_plumbing():
    tex = (ROOT / "report" / "report.tex").read_text()
    listed = re.findall(r"\\codefile(\[\w+\])?\{([^}]+)\}", tex)
    sheet = ["ex09.py", "noise.py", "fashion_mnist.py"]
    assert [name for _, name in listed[:3]] == sheet  # first, in full, in the sheet's style
    assert all(style == "[sheet]" for style, _ in listed[:3])
    store = ["analyses/runs.py", "analyses/__main__.py", "analyses/__init__.py"]  # plumbing
    analyses = {p.relative_to(ROOT).as_posix() for p in (ROOT / "analyses").glob("*.py")}
    # The plumbing is not listed but named, each file in the index of the ZIP's other files.
    index = tex[tex.index("Not listed: the plumbing"):].replace("\\_", "_")
    for name in analyses - set(store) - {name for _, name in listed[3:]}:
        assert f"\\texttt{{{name}}}" in index, f"{name} is neither listed nor named"
    plumbing = ["publishing.py", "cuda_graph.py", "report/make_numbers.py",
                "benchmarks/bench.py", "analyses/runs.py", "analyses/__main__.py"] + [
        p.relative_to(ROOT).as_posix() for p in (ROOT / "tools").glob("*.py")]
    for name in plumbing:
        assert f"\\texttt{{{name}}}" in index, f"{name} is neither listed nor named"


def parse_spread(text):
    """(mean, sd, min, max) of "m~$\\pm$~sd [min, max]" (min and max None without them)."""
    numbers = [float(x) for x in re.findall(r"-?\d+\.\d+|-?\d+", text)]
    return tuple(numbers) + (None,) * (4 - len(numbers))


def test_the_reports_headline_sentences_hold_in_the_data():
    """Sentences whose direction the data decides, checked against the numbers they rest on."""
    m = macros((ROOT / "report" / "numbers.tex").read_text())
    tex = " ".join((ROOT / "report" / "report.tex").read_text().split())  # one line
    den = json.loads((FIG / "denoisers" / "denoisers.json").read_text())
    checked = 0

    def holds(sentence, condition):
        nonlocal checked
        assert sentence in tex, f"the report no longer says: {sentence!r} (update this test)"
        assert condition, sentence
        checked += 1

    tun = json.loads((FIG / "dae_tuning" / "dae_tuning.json").read_text())
    tuned_seeds = [v["subset"]["psnr_db"] for t in tun["tuned"].values()
                   for v in t["per_seed"].values()]
    best_seed = max(r["subset"]["psnr_db"] for r in den["rows"]
                    if r["sigma"] == 0.5 and r["kind"] == "learned")
    from scipy.stats import t as student
    pairs = json.loads((FIG / "paired" / "paired.json").read_text())
    blocks = json.loads((FIG / "bm3d_blocks" / "bm3d_blocks.json").read_text())
    prior = json.loads((FIG / "patch_prior" / "patch_prior.json").read_text())
    # one family for the section's image-by-image tests: each pair by PSNR and by MSE
    top_two = json.loads((FIG / "leaders" / "leaders.json").read_text())  # one pair
    n_diffs = (2 * len(pairs["pairs"]) + len(pairs["aware_minus_blind"])
               + 2 * len(blocks["pairs"]) + 2 * len(prior["pairs"]) + 2 * ("mse" in top_two)
               + 3 * ("stabilised" in top_two)
               + len(json.loads((FIG / "vst" / "vst.json").read_text())["methods"]))

    def paired_p(d):  # two-sided paired t test of a mean difference
        return 2 * student.sf(abs(d["mean"]) / (d["sd"] / d["n"] ** 0.5), d["n"] - 1)

    def lead(filt, learned, family, pipeline="clipping-aware"):  # filter minus network: its
        # interval, Bonferroni-corrected
        p, = [p for p in pairs["pairs"] if p["filter"] == f"{filt}, {pipeline}"
              and p["learned"] == learned]
        q = student.ppf(1 - 0.025 / family, p["n"] - 1)
        return p["mean"] - q * p["sd"] / p["n"] ** 0.5, p["mean"] + q * p["sd"] / p["n"] ** 0.5
    longer = json.loads((FIG / "dae_longer" / "dae_longer.json").read_text())
    wide_long = f"DAE, widened to 128, tuned, {longer['chosen_epoch']} epochs"
    wiener = "Wiener (linear MMSE)"
    wide = json.loads((FIG / "wide_tuning" / "wide_tuning.json").read_text())
    every_seed = tuned_seeds + [best_seed, longer["test_at_chosen"]["max"],
                                wide["chosen"]["test_psnr_db"]]
    # the Wiener estimator above every seed of every network, by PSNR and by MSE
    wie = next(s for s in den["summary"] if s["sigma"] == 0.5
               and s["method"] == f"{wiener}, clipping-aware")["subset"]
    seed_mse = [r["subset"]["mse"] for r in den["rows"] if r["sigma"] == 0.5
                and r["kind"] == "learned"]
    tuned_mse = [v["subset"]["mse"] for t in tun["tuned"].values() for v in t["per_seed"].values()]
    long_mse = [p["mse"] for p in pairs["pairs"] if p["learned"] in pairs["tuned_networks"]
                and p["filter"] == f"{wiener}, clipping-aware"]
    holds("\\textbf{No network trained here reaches the best linear estimator's mean PSNR.}",
          wie["psnr_db"]["mean"] > max(every_seed) and wie["mse"]["mean"] < min(seed_mse + tuned_mse)
          and lead(wiener, wide_long, n_diffs)[0] > 0
          and len(long_mse) == 4 and all(d["ci95"][1] < 0 for d in long_mse)
          and str(n_diffs) == m["FamilyCount"])
    # the methods tuned on fewer held-out images than any network: non-local means, BM3D and
    # the dictionary only (Table 11's rows)
    budget = make_numbers.collect(ROOT)[1]["BudgetTableRows"]
    held = {r[0]: int(r[1].replace("\\,", "")) for r in budget if r[1] != "--"}
    fewest_net = min(v for k, v in held.items() if k.startswith("DAE"))
    holds("Fewer held-out images make a choice noisier: a handicap, if any, for non-local means, "
          "BM3D and the dictionary.",
          {k.split(",")[0] for k, v in held.items() if v < fewest_net}
          == {"non-local means", "BM3D", "sparse coding"})
    # SSIM reverses the order of the Wiener estimator and the tuned widened network
    holds("By SSIM the \\TunWideEpochs-epoch network scores higher (\\TunWideSsimMean{} against "
          "\\WieSsim), untested image by image.",
          tun["tuned"]["128"]["subset_ssim"]["mean"] > wie["ssim"]["mean"]
          and tun["tuned"]["128"]["subset_psnr_db"]["mean"] < wie["psnr_db"]["mean"])
    # by MSE every clipping-aware estimator Table 10 pairs leads the best network, corrected
    aware_long = [p for p in pairs["pairs"] if p["learned"] == wide_long  # Table 10's rows
                  and p["filter"].endswith(("clipping-aware", "stabilised"))
                  and not p["filter"].startswith("total variation")]
    holds("By MSE every clipping-aware estimator of Table~\\ref{tab:paired}, non-local means and "
          "BM3D with its library blocks included, leads it",
          len(aware_long) >= 6 and all(p["mse"]["ci95"][1] < 0
                                       and paired_p(p["mse"]) * n_diffs < 0.001 for p in aware_long))
    # BM3D with its blocks tuned: above every other row of Table 5 and every network seed, and
    # ahead of the Wiener estimator and the best network image by image, by PSNR and by MSE
    top = blocks["pipelines"]["clipping-aware"]["test"]["psnr_db"]
    others = [s["subset"]["psnr_db"]["mean"] for s in den["summary"] if s["sigma"] == 0.5
              and s["kind"] in ("filter", "pca", "linear")]
    others += [r["test"]["psnr_db"] for r in prior["pipelines"].values()]
    dictionary = prior["pipelines"]["clipping-aware"]["test"]["psnr_db"]
    # the leads after correction: the dictionary and BM3D with tuned blocks (their own
    # families, checked below), the Wiener estimator; no other estimator Table 10 pairs
    others_long = [p for p in pairs["pairs"] if p["learned"] == wide_long
                   and not p["filter"].startswith(wiener)]
    holds("By PSNR, the dictionary and BM3D with tuned blocks lead the Wiener estimator,",
          min(top, dictionary) > max(others[:-2] + every_seed) and max(
              blocks["pipelines"]["blind"]["test"]["psnr_db"],
              prior["pipelines"]["blind"]["test"]["psnr_db"]) < min(top, dictionary)
          and lead(wiener, wide_long, n_diffs)[0] > 0 and others_long
          and all(p["mean"] < 0 or paired_p(p) * n_diffs > 0.05 for p in others_long))
    holds("\\textbf{A patch prior learned from the training images has the highest mean PSNR, from one dictionary.}",
          dictionary > max(others[:-2] + every_seed + [top]))
    # ... and leads BM3D with tuned blocks image by image, by PSNR and by MSE, corrected
    holds("It leads BM3D with tuned blocks image by image (Table~\\ref{tab:leads}).",
          top_two["method"].startswith("sparse coding") and top_two["other"].startswith("BM3D")
          and top_two["mean"] > 0 and paired_p(top_two) * n_diffs < 0.001
          and top_two["mse"]["mean"] < 0 and paired_p(top_two["mse"]) * n_diffs < 0.001)
    # BM3D with tuned blocks through the stabiliser: it gains, and the dictionary's lead over it
    # is not detected after correction, by PSNR or by MSE; its noise level inside its grid
    stab = top_two["stabilised"]
    undetected = (stab["dictionary_minus"]["mean"] > 0
                  and paired_p(stab["dictionary_minus"]) * n_diffs > 0.05
                  and paired_p(stab["dictionary_minus"]["mse"]) * n_diffs > 0.05)
    holds("Retuned through it, BM3D gains image by image, with its library blocks and with tuned "
          "blocks", stab["minus_aware"]["mean"] > 0 and m["VstBmGainPAll"] == "<0.001"
          and paired_p(stab["minus_aware"]) * n_diffs < 0.001 and m["LdVstGainPAll"] == "<0.001")
    holds("its lead over stabilised BM3D is not detected after correction (uncorrected "
          "$\\pv{\\LdVstDiffP}$).",
          undetected and (paired_p(stab["dictionary_minus"]) < 0.001) == (m["LdVstDiffP"] == "<0.001") and "stabilised" not in json.dumps(prior["pipelines"]))
    holds("Two methods lead: one learned dictionary (\\PpPsnr\\,dB) and BM3D",
          undetected and min(top, dictionary) > max(others[:-2] + every_seed)
          and top < stab["test_psnr_db"] and stab["test_psnr_db"] < prior["pipelines"]["clipping-aware"]["test"][
              "psnr_db"])
    holds("the best, $\\sigma_f/\\sigma=\\LdVstFactor$, lies inside the grid",
          not stab["parameters"]["sigma_factor"]["at_grid_edge"]
          and m["LdVstFactor"] == f"{stab['chosen']['sigma_factor']:g}")
    # each lead image by image, by PSNR and by MSE, Bonferroni over the section's family
    leads = [(p, n_diffs) for r in (blocks, prior) for p in r["pairs"]
             if p["other"] in (f"{wiener}, clipping-aware", wide_long)]
    holds("and the full-rank Wiener estimator, lead the best network trained here image by image",
          len(leads) == 4 and lead(wiener, wide_long, n_diffs)[0] > 0 and all(
              paired_p(p) * n < 0.001 and p["mean"] > 0
              and paired_p(p["mse"]) * n < 0.001 and p["mse"]["mean"] < 0 for p, n in leads))
    curve = blocks["pipelines"]["clipping-aware"]
    holds("the held-out PSNR peaks at blocks of \\BbBlock{} pixels, inside the grid",
          "block" not in curve["at_grid_edge"] and str(curve["chosen"]["block"]) == m["BbBlock"])
    choice = json.loads((FIG / "width_choice" / "width_choice.json").read_text())
    held = {int(w): max(c.values()) for w, c in choice["held_out_psnr_db"].items()}
    holds("of the width sweep's widths, 8 to 128, the held-out images choose 128",
          max((w for w in held if w <= 128), key=held.get) == 128)
    # the held-out images' width trained longer: chosen on the held-out images at its last
    # epoch, still rising there, and below the Wiener estimator image by image (corrected)
    wide_label = (f"DAE, widened to {wide['width']}, tuned, {wide['chosen']['epoch']} epochs, "
                  f"seed {wide['seed']}")
    rising = next(c["held_out_psnr_db"] for c in wide["curves"]
                  if c["lr"] == wide["chosen"]["lr"])
    place = ("the lowest tried" if wide["chosen"]["lr"] == min(wide["lrs"]) else
             "the highest tried" if wide["chosen"]["lr"] == max(wide["lrs"]) else
             "inside its grid")
    holds("images it is best at learning rate \\WtLr, \\WtLrPlace, and at the last epoch, still rising",
          wide["chosen"]["at_last_epoch"] and wide["width"] == choice["chosen"]["width"]
          and m["WtLrPlace"] == place and m["WtLr"] == f"{wide['chosen']['lr']:g}"
          and rising[str(wide["epochs"])] > rising[str(wide["epochs"] - 50)]
          and wide["chosen"]["held_out_psnr_db"] >= max(wide["reference"]["held_out_psnr_db"]
                                                        .values()) - 0.005)
    # the intervals Table 10 and the section print: corrected for the family, as its p-values
    shown = [float(x) for x in re.findall(r"[-+]\d+\.\d+", m["PairedWieWideLong"])]
    holds("Mean over the images with 95\\,\\% interval and paired $t$ test $p$, both "
          "Bonferroni-corrected for all \\FamilyCount{} differences", int(m["FamilyCount"]) == n_diffs
          and shown[1:] == pytest.approx(lead(wiener, wide_long, n_diffs), abs=0.006))
    holds("the test images the Wiener estimator leads it by \\PairedWieWider{} image by image",
          lead(wiener, wide_label, n_diffs)[0] > 0)
    last = str(longer["epochs"])
    rising = sum(c["held_out"][last] > c["held_out"][str(longer["epochs"] - 100)]
                 for c in longer["curves"].values())
    holds("(\\LongTestAtMean\\,dB, $n=\\LongSeedsN$), whose search stopped at its grid's edges, "
          "before it had clearly levelled off.",
          m["LongAtEdge"] == "yes" and float(m["LongTailGain"]) > 0
          and wide["chosen"]["at_last_epoch"] and choice["chosen"]["at_edge"] and m["LongTailRising"] == str(rising)
          and m["LongSeedsN"] == str(len(longer["curves"])))
    holds("Of the sweep's widths, 8 to 128, they choose 128, the widened DAE's; over all widths "
          "tried, \\WcChosen{} (star), the widest.", choice["chosen"]["width"] > 128
          and choice["chosen"]["at_edge"] and m["WcChosen"] == str(choice["chosen"]["width"]))
    # the sheet's DAE below how many classical methods (each as Table 5 ranks it), every seed
    summary = {s["method"]: s for s in den["summary"] if s["sigma"] == 0.5}
    dae_seeds = [r["subset"]["psnr_db"] for r in den["rows"]
                 if r["sigma"] == 0.5 and r["method"] == "DAE"]
    ranked_forms = [summary.get(f"{s['method']}, clipping-aware", s) for s in summary.values()
                    if s["kind"] in ("filter", "pca", "linear")
                    and not s["method"].endswith("clipping-aware")
                    and not s["method"].startswith("PCA-8")]  # PCA once, at its tuned k
    closest = min((f for f in ranked_forms if f["subset"]["psnr_db"]["mean"] > max(dae_seeds)),
                  key=lambda f: f["subset"]["psnr_db"]["mean"])
    ranked = [f["subset"]["psnr_db"]["mean"] for f in ranked_forms]
    ranked.append(max(r["test"]["psnr_db"] for r in prior["pipelines"].values()))  # one more
    tuned_dae = [v["subset"]["psnr_db"] for v in tun["tuned"]["8"]["per_seed"].values()]
    names = [f["method"].split(",")[0].replace(" (BayesShrink)", "") for f in ranked_forms]

    def clear(seeds):  # above the best seed by more than the seeds' sd
        return [f - max(seeds) > statistics.stdev(seeds) for f in ranked]

    def not_above(seeds):  # the classical methods not clearly above, named as the text does
        return " and ".join(n for n, c in zip(names, clear(seeds)) if not c)
    holds("The \\DaeClosest{} filter is only \\DaeClosestMargin\\,dB above its best seed, untested "
          "image by image.", closest["kind"] == "filter" and not clear(dae_seeds)[
              ranked_forms.index(closest)] and "Gaussian" not in [p["filter"] for p in pairs["pairs"]])
    holds("Tuned like the filters, the sheet's DAE is below the same \\ClassicalAboveTunedDae.}",
          clear(tuned_dae) == clear(dae_seeds)
          and int(m["ClassicalAboveTunedDae"]) == sum(clear(tuned_dae))
          and m["ClassicalNotAboveTunedDae"] == not_above(tuned_dae)
          and float(m["ClearMarginTunedDae"]) <= min(f - max(tuned_dae) for f, c in zip(
              ranked, clear(tuned_dae)) if c) < float(m["ClearMarginTunedDae"]) + 0.01)
    pca8 = [summary[f"PCA-8 (the code size){p}"]["subset"]["psnr_db"]["mean"]
            for p in ("", ", clipping-aware")]
    holds("PCA-8, a linear code of its size, is below all \\DaeSeedsN{} (\\PcaEightAwPsnr\\,dB).",
          max(pca8) < min(dae_seeds) and float(m["PcaEightAwPsnr"]) == pytest.approx(pca8[1], abs=0.005))
    median = max(summary[f"median{p}"]["subset"]["psnr_db"]["mean"]  # its better form
                 for p in ("", ", clipping-aware"))
    holds("The DAE is above the median filter at \\DaeSeedsAboveMedian{} of \\DaeSeedsN{} seeds;", median <= max(dae_seeds)
          and int(m["DaeSeedsAboveMedian"]) == sum(v > median for v in dae_seeds)
          and int(m["DaeSeedsAboveMedian"]) < len(dae_seeds) and max(pca8) < min(dae_seeds))
    margin = min(f - max(dae_seeds) for f, c in zip(ranked, clear(dae_seeds)) if c)
    holds("\\FilterAboveDae{} filters (\\FiltersAboveDaeNames) and all \\FittedAboveDae{} fitted "
          "estimators are above its best seed by \\ClearMarginDae\\,dB or more, above the seeds' sd of "
          "\\DaeSeedSd\\,dB",
          m["FiltersAboveDaeNames"] == ", ".join(n for n, c, f in zip(names, clear(dae_seeds), ranked_forms)
                                                 if c and f["kind"] == "filter") and
          int(m["ClassicalAboveDae"]) == sum(clear(dae_seeds))
          and int(m["ClassicalN"]) == len(ranked)
          and m["ClassicalNotAboveDae"] == not_above(dae_seeds)
          and float(m["ClearMarginDae"]) <= margin < float(m["ClearMarginDae"]) + 0.01
          and float(m["DaeSeedSd"]) == pytest.approx(statistics.stdev(dae_seeds), abs=0.005))
    # by MSE: the same forms below the DAE's best seed by more than the seeds' sd
    dae_mse = [r["subset"]["mse"] for r in den["rows"] if r["sigma"] == 0.5 and r["method"] == "DAE"]
    form_mse = [f["subset"]["mse"]["mean"] for f in ranked_forms] + [
        max(prior["pipelines"].values(), key=lambda r: r["test"]["psnr_db"])["test"]["mse"]]
    below = [min(dae_mse) - v > statistics.stdev(dae_mse) for v in form_mse]
    holds("\\ClassicalBelowDaeMse{} of the \\ClassicalN{} are below its best seed by more than the "
          "seeds' sd; only the \\ClassicalNotBelowDaeMse{} filter is not.",
          int(m["ClassicalBelowDaeMse"]) == sum(below) == len(below) - 1
          and m["ClassicalNotBelowDaeMse"] == names[below.index(False)])
    # the Wiener estimator through 128 dimensions: behind the best network by PSNR, ahead by MSE
    rank = next(p for p in pairs["pairs"] if p["learned"] == wide_long
                and p["filter"] == f"{wiener} of rank 128, clipping-aware")
    holds("the Wiener estimator trails it by PSNR (\\PairedWieRankWideLong) but still leads by MSE",
          rank["mean"] < 0 and paired_p(rank) * n_diffs < 0.05
          and rank["mse"]["mean"] < 0 and paired_p(rank["mse"]) * n_diffs < 0.05)
    stabilised_sd = json.loads((FIG / "vst" / "vst.json").read_text())
    vst = stabilised_sd["methods"]

    def farthest(sd):  # the largest distance of the noise's sd from sigma, over grey levels
        return max(abs(v - stabilised_sd["sigma"]) for k, v in sd.items() if k != "at_background")
    holds("the clipped noise's sd lies at most \\VstSdDev{} from $\\sigma=\\NoiseStd$, against "
          "\\VstRawSdDev{} without",
          farthest(stabilised_sd["stabilised_sd"]) < farthest(stabilised_sd["raw_sd"])
          and stabilised_sd["sigma"] == 0.5
          and float(m["VstSdDev"]) == pytest.approx(farthest(stabilised_sd["stabilised_sd"]), abs=0.005)
          and float(m["VstRawSdDev"]) == pytest.approx(farthest(stabilised_sd["raw_sd"]), abs=0.005))
    spans = [round(sd["max"], 2) - round(sd["min"], 2)
             for sd in (stabilised_sd["raw_sd"], stabilised_sd["stabilised_sd"])]
    holds("its range narrows only from \\VstRawSdSpan{} to \\VstSdSpan{} wide.",
          spans[1] < spans[0] and float(m["VstRawSdSpan"]) == pytest.approx(spans[0])
          and float(m["VstSdSpan"]) == pytest.approx(spans[1]))
    holds("the lowest, \\VstSdBackground, is at the black background.",
          stabilised_sd["stabilised_sd"]["at_background"] == pytest.approx(
              stabilised_sd["stabilised_sd"]["min"], abs=1e-6))
    b1 = json.loads((FIG / "beta1" / "beta1.json").read_text())
    revival = json.loads((FIG / "revival" / "revival.json").read_text())
    alive = [v["beta1_test_loss"] - v["sheet_test_loss"] for s, v in b1["per_seed"].items()
             if int(s) not in revival["dead_seeds"]]
    holds("At seeds \\BetaOneAliveSeeds{} no difference is detected (paired 95\\,\\% interval", min(alive) < 0 < max(alive))
    holds("seed ranges of AE and DAE overlap in every measure", all(
        parse_spread(m[f"SeedsPlain{i}{k}"])[2] <= parse_spread(m[f"SeedsDenoise{i}{k}"])[3]
        and parse_spread(m[f"SeedsDenoise{i}{k}"])[2] <= parse_spread(m[f"SeedsPlain{i}{k}"])[3]
        for i in ("", "Noisy") for k in ("Mse", "Knn", "Live", "Sil")))
    gains = {g["filter"]: g for g in pairs["aware_minus_blind"]}
    holds("Told the clipping, non-local means gains image by image",
          gains["non-local means"]["mean"] > 0
          and paired_p(gains["non-local means"]) * n_diffs < 0.001)
    seeds = json.loads((FIG / "seeds" / "seeds.json").read_text())
    worst = {}
    for r in seeds["per_class"]:
        worst.setdefault(r["model"], {})[r["class"]] = r["knn5_per_class"]
    holds("the classes the 5-NN classifier gets wrong most, in every code",
          all(sorted(v, key=v.get)[:3] == sorted(("Shirt", "Coat", "Pullover"), key=v.get)
              for v in worst.values()))
    holds("On the map the classes overlap.}", abs(parse_spread(m["SeedsPlainSil"])[0]) < 0.1)
    holds("PCA-8's one map has a higher silhouette, \\SeedsPcaSil, than every seed's.",
          float(m["SeedsPcaSil"]) > parse_spread(m["SeedsPlainSil"])[3])
    codes = [parse_spread(m[f"Code{w}Psnr"])[0] for w in
             ("Eight", "Sixteen", "ThirtyTwo", "SixtyFour", "OneTwentyEight")]
    holds("mean PSNR rises with $W$ up to 128", codes == sorted(codes))
    holds("all \\WidestAboveN{} seeds at 128 lie above every narrower seed",
          m["WidestAboveN"] == m["SweepSeedsN"])
    low, high = parse_spread(m["SweepLowDae"]), parse_spread(m["SweepHighDae"])
    holds("the DAE is below even the noisy input",
          low[3] < float(m["SweepLowNoisy"]))
    holds("it is below the Wiener estimator and above every filter and PCA run there at every seed",
          high[3] < float(m["SweepHighWie"])
          and m["SweepHighDaeAboveClassical"] == m["SweepSeedsN"])
    bm_long, = [p for p in pairs["pairs"] if p["learned"] == wide_long
                and p["filter"] == "BM3D, clipping-aware"]
    holds("image by image, its PSNR gap to BM3D at \\LongEpochs{} epochs is not detected, while by "
          "MSE BM3D leads", paired_p(bm_long) * n_diffs > 0.05 and bm_long["mse"]["mean"] < 0
          and paired_p(bm_long["mse"]) * n_diffs < 0.05)
    q1_all = json.loads((FIG / "q1" / "q1_results.json").read_text())
    tuned = {name: (v["lr"], v["tuning_final_loss"]) for name, v in q1_all["variants"].items()}
    holds("each variant at its largest stable rate",
          all(lr == max(float(r) for r, loss in losses.items() if np.isfinite(loss))
              and not np.isfinite(losses[str(2 * lr)]) for lr, losses in tuned.values()))
    optimum, budget = q1_all["optimum_loss"], q1_all["seconds_budget"]
    with open(FIG / "q1" / "q1_curves.csv", newline="") as handle:
        curves = list(csv.DictReader(handle))
    tails = {name: [np.mean([float(r["loss"]) - optimum for r in curves
                             if (r["variant"], r["start"], r["seed"]) == (name, "random", seed)
                             and float(r["seconds"]) >= 0.9 * budget]) for seed in "012"]
             for name in ("stochastic", "mini-batch", "batch")}
    holds("stochastic GD ends closest to the optimum per example (a) and per second (b)",
          max(tails["stochastic"]) < min(tails["mini-batch"])
          and max(tails["mini-batch"]) < min(tails["batch"]))
    holds("On clean images the DAE is worse than the AE at all \\DenoiseCleanWorseSeeds{} seeds.}",
          m["DenoiseCleanWorseSeeds"] == m["SeedsN"])
    ae_mse = {r["seed"]: r["test_mse"] for r in json.loads(
        (FIG / "seeds" / "seeds.json").read_text())["rows"] if r["model"] == "plain"}
    holds("At seed 2, the median of \\SeedsN{} by test MSE,",
          sorted(ae_mse, key=ae_mse.get)[len(ae_mse) // 2] == 2 and len(ae_mse) % 2 == 1
          and (FIG / "seed2" / "plain" / "tsne.png").exists())
    holds("The DAE, trained on noisy inputs only, reconstructs clean ones worse at every seed",
          m["DenoiseCleanWorseSeeds"] == m["SeedsN"])
    holds("the DAE is lower than the AE at all \\NoisyDaeBetterSeeds{} seeds, though not",
          m["NoisyDaeBetterSeeds"] == m["SeedsN"])
    # Table tab:q3paired, DAE minus AE by seed: measure & mean & higher at & interval & p
    q3 = [[c.strip() for c in row.rstrip("\\ ").split("&")]
          for row in re.search(r"\\newcommand\{\\QThreePairedRows\}\{(.*?)\}\n\\newcommand",
                               (ROOT / "report" / "numbers.tex").read_text(), re.S)[1].splitlines()]
    q3_ci = {r[0]: [float(x) for x in re.findall(r"-?[0-9.]+", r[3])] for r in q3}
    q3_p = {r[0]: float(r[4]) for r in q3}
    holds("only this one survives correction ($p=\\CleanMseTtestPCorr$)",
          [k for k, p in q3_p.items() if p < 0.05] == ["test MSE, clean input"]
          and q3_ci["test MSE, clean input"][0] > 0 and q3[0][2] == f"{m['SeedsN']} of {m['SeedsN']}")
    holds("Their intervals in Table~\\ref{tab:q3paired} contain 0, even uncorrected",
          len(q3) == 5 and all(lo < 0 < hi for k, (lo, hi) in q3_ci.items() if "MSE" not in k))
    ae_knn = parse_spread(m["SeedsPlainKnn"])
    holds("A classifier detects no difference between the code and PCA-8's.}",
          abs(ae_knn[0] - float(m["SeedsPcaKnn"].split("\\")[0])) < ae_knn[1])
    holds("whose untrained network is \\emph{dead}", m["SeedsDead"] == m["Seed"] == m["RevivalDead"])
    holds("the worst of \\SeedsN: \\SeedsDenoiseNoisyMse",
          m["SeedsDenoiseNoisyMse"].rstrip("]").endswith(m["DenoiseFinalTest"]))
    plain = parse_spread(m["SeedsPlainMse"])
    holds("has the highest final test MSE of \\SeedsN{} seeds", m["PlainFinalTest"] == f"{plain[3]:.4f}")
    ratios = [float(r) for r in m["QOneSampleRatio"].split("--")]
    holds("a median over the \\QOneSeeds{} seeds, is only \\QOneSgdSlowdown{} times higher.",
          min(ratios) > float(m["QOneSgdSlowdown"]))
    holds("the higher PSNR at \\MirBetterDenoisePsnr{} of \\MirSeedsN{} seeds",
          int(m["MirBetterDenoisePsnr"]) > int(m["MirSeedsN"]) / 2)
    mirrored = json.loads((FIG / "mirrored" / "mirrored.json").read_text())["dead_at_start"]
    holds("where only the printed decoder starts dead",
          int(m["MirMseGainLargestSeed"]) in mirrored["as printed (8-8-32)"]
          and int(m["MirMseGainLargestSeed"]) not in mirrored["mirrored (8-16-32)"])
    ci = parse_spread(m["MirMseGainCi"])
    holds("Its AE's MSE change is not detected (95\\,\\% interval \\MirMseGainCi, uncorrected)",
          ci[0] < 0 < ci[1])
    gain = parse_spread(m["MirPsnrGainCi"]) + parse_spread(m["MirPsnrGainCiCorr"])
    holds("seeds, not significantly: the paired difference's 95\\,\\% interval is",
          gain[0] > 0 and gain[4] < 0 < gain[5])
    denoise = parse_spread(m["SeedsDenoiseNoisyMse"])
    holds("highest test MSE of the \\SeedsN{} for both.",
          m["PlainFinalTest"] == f"{plain[3]:.4f}" and m["DenoiseFinalTest"] == f"{denoise[3]:.4f}")
    # Table 11: no classical choice at an edge but the dictionary's atoms at their cap; the
    # networks' at an edge are the three the sentence names
    searches = [c for t in den["tuning"] if t["sigma"] == 0.5 for c in t["parameters"].values()]
    classical_edges = (any(c["at_grid_edge"] for c in searches)
                       or any(v["at_grid_edge"] for v in vst.values())
                       or blocks["pipelines"]["clipping-aware"]["at_grid_edge"]
                       or stab["parameters"]["sigma_factor"]["at_grid_edge"]
                       or prior["pipelines"]["clipping-aware"]["at_grid_edge"])
    from analyses.patch_prior import PARAMS
    atoms = [p.high for p in PARAMS if p.name == "atoms"]  # the cap on learning time
    tuned_edges = [t["epochs"] == tun["epochs"][w] or t["lr"] in (min(tun["lrs"]), max(tun["lrs"]))
                   for w, t in tun["tuned"].items()]
    holds("except in the \\BudgetEdgeRows{} rows marked at an edge: the dictionary's atoms (a cap) "
          "and three networks' width or epochs.",
          not classical_edges and not any(tuned_edges) and m["BudgetEdgeRows"] == "4"
          and prior["pipelines"]["clipping-aware"]["chosen"]["atoms"] == max(atoms)
          and longer["chosen_epoch"] == max(longer["epochs_scored"])
          and choice["chosen"]["at_edge"] and wide["chosen"]["at_last_epoch"])
    sgd = q1_all["variants"]["stochastic"]
    holds("its stochastic-GD runs ($B=1$) last \\QOneFloorSeconds\\,s, against (a)'s \\QOneSeconds\\,s, and end "
          "above (a)'s final excess", q1_all["floor_seconds"] < q1_all["seconds_budget"]
          and min(sgd["floor_excess"]) > max(sgd["final_excess"]))
    holds("By SSIM its library blocks score higher", float(m["BbSsim"]) < float(m["AwBmSsim"]))
    classical = {make_numbers.base_name(s["method"]) for s in make_numbers.ranked_classical(den)}
    holds("The \\ClassicalN{} are the \\FilterN{} filters, which learn nothing, and the \\FittedN{} "
          "estimators fitted to the training images (PCA at its tuned $k$, Wiener, dictionary); BM3D "
          "counts once, with its library blocks.",
          m["ClassicalN"] == "9" and (m["FilterN"], m["FittedN"]) == ("6", "3")
          and names.count("BM3D") == 1 and "BM3D, clipping-aware" in [f["method"] for f in ranked_forms]
          and int(m["FilterAboveDae"]) == sum(f["kind"] == "filter" and c for f, c in zip(
              ranked_forms, clear(dae_seeds)))
          and int(m["FilterAboveDae"]) + int(m["FittedAboveDae"]) == int(m["ClassicalAboveDae"])
          and int(m["FilterAboveTunedDae"]) + int(m["FittedAboveTunedDae"])
          == int(m["ClassicalAboveTunedDae"]) and m["FittedAboveDae"] == m["FittedN"]
          and m["FittedAboveTunedDae"] == m["FittedN"] and classical == {
              "Gaussian", "median", "wavelet (BayesShrink)", "total variation", "non-local means",
              "BM3D", "PCA-k (k tuned)", "Wiener (linear MMSE)"})
    assert checked == 62


def test_code_listing_prints_the_sheets_code_at_8pt_the_rest_at_7pt_with_line_numbers():
    tex = (ROOT / "report" / "report.tex").read_text()
    style = re.search(r"\\lstset\{(.*?)\n\}", tex, re.DOTALL)[1]
    assert "numbers=left" in style
    for name, least in (("sheet", 8.0), ("analysis", 7.0)):
        size = float(re.search(r"\\lstdefinestyle\{%s\}\{basicstyle=\\ttfamily\\fontsize"
                               r"\{([\d.]+)\}" % name, tex)[1])
        assert size >= least, f"the {name} listing is set at {size} pt"
    code = tex[tex.index("\\section{Code}"):]
    assert "\\twocolumn" not in code and "\\codefile" in code
    # No \resizebox or \scalebox shrinks it as printed.
    assert "\\resizebox" not in code and "\\scalebox" not in code


def test_regeneration_minutes_take_off_the_benchmark_only_when_that_run_made_it():
    # Full run: the last step before the numbers ended at 6000 s, the benchmark took 600 s.
    full = {"step_seconds": {"benchmark": 600, "compare": 50},
            "finished_at_seconds": {"benchmark": 600, "compare": 6000, "numbers": 6001,
                                    "report": 6030}}
    assert make_numbers.regen_seconds(full) == 5400
    # --skip-benchmark: the benchmark's time is an earlier run's, kept for the estimates.
    skipped = {"step_seconds": {"benchmark": 600, "compare": 50},
               "finished_at_seconds": {"compare": 5000, "numbers": 5001}}
    assert make_numbers.regen_seconds(skipped) == 5000


def test_numbers_on_a_full_disk_keep_the_old_file_whole(tmp_path, monkeypatch, capsys):
    # The disk fills after 100 bytes of the new numbers.tex: the old one must stay as it was,
    # and no part-written file may be left beside it.
    root = tmp_path / "project"
    shutil.copytree(FIG, root / "figures")
    shutil.copytree(ROOT / "benchmarks" / "results", root / "benchmarks" / "results")
    (root / "report").mkdir()
    old = "% the numbers of an earlier run\n"
    (root / "report" / "numbers.tex").write_text(old)
    real_write_text = type(root).write_text

    def full_disk(path, text, *args, **kwargs):
        if path.parent == root / "report":
            real_write_text(path, text[:100], *args, **kwargs)
            raise OSError(28, "No space left on device")
        return real_write_text(path, text, *args, **kwargs)
    monkeypatch.setattr(type(root), "write_text", full_disk)
    with pytest.raises(SystemExit) as stop:
        make_numbers.main([str(root)])
    assert "No space left on device" in str(stop.value) and "numbers.tex" in str(stop.value)
    assert (root / "report" / "numbers.tex").read_text() == old
    assert sorted(p.name for p in (root / "report").iterdir()) == ["numbers.tex"]


@pytest.mark.parametrize("n", [4, 5, 1])
def test_the_training_loss_table_keeps_every_epoch_in_two_blocks(n):
    """An odd count of epochs (a run with --epochs 51) loses no row: the left block takes the
    extra one, the right side of its last line stays blank."""
    rows = [[str(e), f"a{e}", f"b{e}"] for e in range(1, n + 1)]
    table = make_numbers.side_by_side(rows)
    assert len(table) == (n + 1) // 2
    cells = [line[i:i + 3] for line in table for i in (0, 3)]
    assert sorted(c for c in cells if c[0]) == sorted(rows)
    assert [line[0] for line in table] == [str(e) for e in range(1, len(table) + 1)]


@pytest.mark.parametrize("live", [1, 6])
def test_the_dead_code_units_at_the_start_are_eight_less_the_live_ones(tmp_path, live):
    """The committed run starts with 4 of 8 units live, where dead and live read the same:
    another count tells them apart."""
    root = committed_state(ROOT, tmp_path)
    if root == ROOT:  # no git: work on a copy, never on the working tree's results
        shutil.copytree(ROOT / "figures", tmp_path / "figures")
        shutil.copytree(ROOT / "benchmarks", tmp_path / "benchmarks")
        root = tmp_path
    path = root / "figures" / "plain" / "metrics.json"
    metrics = json.loads(path.read_text())
    metrics["health_by_epoch"]["0"]["live_code_units"] = live
    path.write_text(json.dumps(metrics))
    assert make_numbers.collect(root)[0]["PlainDeadCodeAtStart"] == str(8 - live)
