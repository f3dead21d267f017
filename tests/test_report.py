"""The report's numbers come from the files the runs wrote: the generated include matches the
JSON/CSV, and the committed report/numbers.tex is what the generator makes of the committed
results (so a stale number cannot land)."""

import json
import re
import sys

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "report"))
import make_numbers  # noqa: E402

FIG = ROOT / "figures"
NEEDED = [FIG / "plain" / "metrics.json", FIG / "denoise" / "metrics.json",
          FIG / "compare" / "comparison.json", FIG / "q1" / "q1_results.json",
          ROOT / "benchmarks" / "results" / "bench.json"]
pytestmark = pytest.mark.skipif(not all(p.exists() for p in NEEDED),
                                reason="committed results not present")


def macros(text):
    return dict(re.findall(r"^\\newcommand\{\\(\w+)\}\{(.*)\}$", text, re.MULTILINE))


def test_committed_include_is_what_the_generator_makes_of_the_committed_results():
    committed = (ROOT / "report" / "numbers.tex").read_text()
    assert committed == make_numbers.render(*make_numbers.collect(ROOT))


def test_include_matches_the_json_files():
    m = macros((ROOT / "report" / "numbers.tex").read_text())
    plain = json.loads((FIG / "plain" / "metrics.json").read_text())
    denoise = json.loads((FIG / "denoise" / "metrics.json").read_text())
    comp = json.loads((FIG / "compare" / "comparison.json").read_text())
    bench = json.loads((ROOT / "benchmarks" / "results" / "bench.json").read_text())
    q1 = json.loads((FIG / "q1" / "q1_results.json").read_text())
    assert float(m["PlainFinalTest"]) == pytest.approx(plain["final_test_loss"], abs=5e-5)
    assert float(m["PlainFinalTrain"]) == pytest.approx(plain["final_train_loss"], abs=5e-5)
    assert float(m["DenoiseFinalTest"]) == pytest.approx(denoise["final_test_loss"], abs=5e-5)
    assert m["Epochs"] == str(plain["config"]["epochs"]) == "50"  # committed from a default run
    assert m["NoiseStd"] == f"{denoise['config']['noise_std']:g}"
    recon = {r["model"]: r["test_mse"] for r in comp["reconstruction"]}
    assert float(m["PcaMse"]) == pytest.approx(recon["PCA-8 (linear)"], abs=5e-5)
    assert float(m["PsnrDenoise"]) == pytest.approx(comp["psnr_db"]["denoising AE output"], abs=0.05)
    knn = {r["code"]: r["knn5_accuracy"] for r in comp["codes"]}
    assert m["PlainKnn"] == f"{100 * knn['plain']:.1f}\\,\\%"
    assert float(m["BenchProjectOverFloor"]) == pytest.approx(
        bench["project_s"] / bench["floor_s"], abs=0.005)
    assert m["QOneSgdLr"] == f"{q1['variants']['stochastic']['lr']:g}"
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
                                   r"Worst|Best|Epochs|Batch|Noise|Tsne|Torch|Python)\w*)",
                                   tex.read_text()))
    assert used, "the report cites no generated numbers"
    assert used <= defined, f"undefined: {sorted(used - defined)}"
