"""The report's numbers come from the files the runs wrote: the generated include matches the
JSON/CSV, and the committed report/numbers.tex is what the generator makes of the committed
results (so a stale number cannot land)."""

import io
import json
import re
import shutil
import subprocess
import sys
import tarfile

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "report"))
import make_numbers  # noqa: E402

FIG = ROOT / "figures"
NEEDED = [FIG / "plain" / "metrics.json", FIG / "denoise" / "metrics.json",
          FIG / "compare" / "comparison.json", FIG / "q1" / "q1_results.json",
          FIG / "seeds" / "seeds.json", FIG / "revival" / "revival.json",
          FIG / "denoisers" / "denoisers.json", FIG / "mirrored" / "mirrored.json",
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
    psnr = [float(row[3].split("~")[0]) for row in table]
    assert psnr == sorted(psnr, reverse=True)  # ranked
    assert table[int(m["DaeRank"]) - 1][1].startswith("\\textbf{DAE")
    bm3d = next(s["subset"]["psnr_db"]["mean"] for s in den["summary"]
                if (s["sigma"], s["method"]) == (0.5, "BM3D"))
    assert float(m["BmPsnr"]) == pytest.approx(bm3d, abs=0.005)
    # The DAE runs counted against BM3D: every run folder once (the sweeps at sigma 0.5 and
    # width 8 are the seed study's runs), the plain AE not among them.
    runs = {name: r["subset"]["psnr_db"] for r in den["rows"] if r["sigma"] == 0.5
            and r["method"].startswith("DAE")
            for name in [den["groups"][r["method"]][str(r["seed"])]]}
    assert int(m["LearnedRunsN"]) == len(runs) == len(set(runs))
    assert int(m["LearnedRunsAboveBm"]) == sum(v > bm3d for v in runs.values())
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


def test_listing_holds_every_script_that_makes_a_figure_or_number():
    listed = set(re.findall(r"\\codefile\{([^}]+)\}",
                            (ROOT / "report" / "report.tex").read_text()))
    needed = {"ex09.py", "noise.py", "fashion_mnist.py", "cuda_graph.py", "publishing.py",
              "report/make_numbers.py"} | {
        p.relative_to(ROOT).as_posix() for p in (ROOT / "analyses").glob("*.py")}
    assert needed <= listed, f"not in the PDF's listing: {sorted(needed - listed)}"


def test_the_reports_headline_sentences_hold_in_the_data():
    """Sentences whose direction the data decides, checked against the numbers they rest on."""
    m = macros((ROOT / "report" / "numbers.tex").read_text())
    tex = " ".join((ROOT / "report" / "report.tex").read_text().split())  # one line
    if "No DAE beats BM3D" in tex:
        assert m["LearnedRunsAboveBm"] == "0"
    if "every method does at least as well as at its" in tex:
        assert m["TunedBeatsDefaults"] == m["TunedN"]
    first = lambda text: float(text.split("~")[0])  # noqa: E731 - the mean of "m +- sd [..]"
    if "below the untouched noisy input" in tex:
        assert first(m["SweepLowDae"]) < float(m["SweepLowNoisy"])
    if "is far behind the best filter" in tex:
        assert float(m["SweepLowFilterPsnr"]) - first(m["SweepLowDae"]) > 2
    if "The sheet's DAE loses to the strong filters" in tex:
        assert float(m["DaePsnrMean"]) < min(float(m["BmPsnr"]), float(m["BestClassicalPsnr"]))
    if "no learned model comes near BM3D" in tex:
        assert float(m["BmSsim"]) - float(m["BestLearnedSsimAny"]) > 0.05
    if "Widened to 128 units per layer it beats both by PSNR at every seed" in tex:
        assert m["WidthAllSeedsAboveClassical"] == "128"
        assert int(m["WidthAllSeedsAboveBm"]) <= 128
    if "the mirrored decoder (Section~\\ref{sec:setup}) does not close the gap" in tex:
        assert first(m["MirroredDaePsnr"]) < min(float(m["BmPsnr"]),
                                                 float(m["BestClassicalPsnr"]))
    if "have a higher mean linear CKA than two seeds of one model" in tex:
        assert first(m["SeedsCkaSame"]) > max(first(m["SeedsCkaPlain"]),
                                              first(m["SeedsCkaDenoise"]))
    if "more than the runs from the random start end above the optimum" in tex:
        q1 = json.loads((FIG / "q1" / "q1_results.json").read_text())["variants"]["stochastic"]
        assert min(q1["floor_excess"]) > max(q1["final_excess"])
    if "the worst of \\SeedsN: \\SeedsDenoiseNoisyMse" in tex:
        assert m["SeedsDenoiseNoisyMse"].rstrip("]").endswith(m["DenoiseFinalTest"])
    if "(\\UniformClasses, lower for the DAE at all \\SneakerWorseSeeds)" in tex:
        assert m["UniformClasses"] == "sneakers" and m["SneakerWorseSeeds"] == m["SeedsN"]
    if "On clean inputs it does worse" in tex:
        assert first(m["SeedsDenoiseMse"]) > first(m["SeedsDenoiseNoisyMse"])
    if "is far ahead" in tex:
        assert first(m["SweepHighDae"]) - float(m["SweepHighFilterPsnr"]) > 2
    if "The mirrored decoder is better on average" in tex:
        assert first(m["MirMirroredDenoisePsnr"]) > first(m["MirPrintedDenoisePsnr"])
        assert first(m["MirMirroredPlainMse"]) < first(m["MirPrintedPlainMse"])
    if "above the optimum, still far from it" in tex:  # batch GD, against the other two
        q1 = json.loads((FIG / "q1" / "q1_results.json").read_text())["variants"]
        assert min(q1["batch"]["final_excess"]) > 3 * max(q1["mini-batch"]["final_excess"])
    if "then overtakes the others per sample (a) and per second" in tex:
        q1 = json.loads((FIG / "q1" / "q1_results.json").read_text())["variants"]
        assert max(q1["stochastic"]["final_excess"]) < min(q1["mini-batch"]["final_excess"])


def test_code_listing_prints_at_7pt_or_more_in_one_column():
    tex = (ROOT / "report" / "report.tex").read_text()
    style = re.search(r"\\lstset\{(.*?)\n\}", tex, re.DOTALL)[1]
    size = float(re.search(r"basicstyle=\\ttfamily\\fontsize\{([\d.]+)\}", style)[1])
    assert size >= 7.0, f"the listing is set at {size} pt"
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
