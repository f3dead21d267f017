"""The denoiser comparison (python -m analyses denoisers) and the mirrored-decoder study: the
measures and the tuner on cases with known answers, the tuning on real images, the committed
results, and both analyses end to end on the tiny data."""

import json
import shutil

import numpy as np
import pytest
import torch

import ex09
import fashion_mnist as fm
from analyses import denoisers, filters, measures, runs, tuning, variants
from analyses.filters import FILTERS
from analyses.tuning import Param, tune
from noise import TEST_NOISE_SEED, add_white_noise

ROOT = ex09.HERE


def test_psnr_and_ssim_of_known_errors():
    # MSE 0.04 on a range of 2 is 20 dB; two images at 20 and 40 dB average to 30 dB (the PSNR
    # of the pooled error would be 23 dB).
    target = np.zeros((2, 28, 28))
    estimate = np.stack([np.full((28, 28), 0.2), np.full((28, 28), 0.02)])
    assert measures.scores(estimate, target)["psnr_db"] == pytest.approx(30.0)
    assert measures.mean_psnr(estimate, target) == pytest.approx(30.0)
    # SSIM of a constant error c on a flat image is C1 / (c^2 + C1), C1 = (0.01 * range)^2:
    # 0.5 for c = 0.02 on the range 2 of [-1, 1] (it would be 0.2 on a range of 1).
    flat = np.full((1, 28, 28), 0.02)
    assert measures.scores(flat, np.zeros((1, 28, 28)))["ssim"] == pytest.approx(0.5, rel=1e-3)
    # Both clip an estimate to the image range first: 2.0 counts as 1.0, an error of 1 on
    # a clean 0 (6.02 dB), not 2 (0 dB), in the tuning score as in the reported one.
    beyond = np.full((1, 28, 28), 2.0)
    for psnr in (measures.scores(beyond, np.zeros((1, 28, 28)))["psnr_db"],
                 measures.mean_psnr(beyond, np.zeros((1, 28, 28)))):
        assert psnr == pytest.approx(10 * np.log10(4.0), abs=1e-9)


def test_every_filter_improves_a_noisy_flat_image():
    clean = np.full((4, 28, 28), -0.5)
    noisy = clean + np.random.default_rng(0).normal(0, 0.3, size=clean.shape)
    before = measures.mean_psnr(noisy, clean)
    for name, (_, params) in FILTERS.items():
        values = {p.name: p.grid[len(p.grid) // 2] for p in params}
        assert measures.mean_psnr(filters.apply(name, noisy, 0.3, values), clean) > \
            before + 1, name


def test_the_stack_filters_filter_each_image_alone():
    """Gaussian and median filter a stack in one call: each image's output is that of the
    library called on that image alone (nothing blurs from one image into the next)."""
    from scipy.ndimage import gaussian_filter, median_filter
    rng = np.random.default_rng(5)
    stack = rng.uniform(-1, 1, size=(3, 28, 28))
    stack[1] = 1.0  # a flat image between two noisy ones: filtered alone, it stays flat
    for name, values, alone in (
            ("Gaussian", {"std": 1.4}, lambda im: gaussian_filter(im, 1.4, mode="nearest")),
            ("median", {"window": 3}, lambda im: median_filter(im, size=3, mode="nearest"))):
        out = filters.apply(name, stack, 0.5, values)
        assert np.allclose(out, np.stack([alone(im) for im in stack])), name
        assert np.allclose(out[1], 1.0), name


def test_tuner_extends_a_grid_past_a_best_edge_and_refines_inside():
    # Best at 5; the grid 1-3 ends below it: extended (x2) to 6 and 12, then refined to 5.25.
    chosen, curves, best = tune(lambda v: -(v["x"] - 5) ** 2,
                                (Param("x", (1, 2, 3), 2, factor=2),))
    assert chosen["x"] == pytest.approx(5.25) and best == pytest.approx(-0.0625)
    assert 12 in curves["x"]["grid"] and not curves["x"]["at_grid_edge"]
    assert curves["x"]["psnr_db"][curves["x"]["grid"].index(chosen["x"])] == best


def test_tuner_accepts_a_natural_bound_and_flags_a_knob_that_does_nothing():
    chosen, curves, _ = tune(lambda v: -v["s"], (Param("s", (0.0, 1.0, 2.0), 1.0, factor=2,
                                                        low=0.0),))
    assert chosen["s"] == 0.0 and curves["s"]["at_natural_bound"]
    assert not curves["s"]["at_grid_edge"]
    # A flat curve: the best is at an edge however far the grid goes; flagged, not hidden.
    chosen, curves, _ = tune(lambda v: 1.0, (Param("h", (0.1, 0.2, 0.4), 0.2, factor=2),))
    assert curves["h"]["at_grid_edge"] and curves["h"]["range_db"] == 0
    assert min(curves["h"]["grid"]) == pytest.approx(0.1 / 2 ** tuning.MAX_EXTENSIONS, rel=1e-3)


def test_tuner_follows_a_diagonal_ridge_of_two_coupled_parameters():
    # The optimum (3, 3) lies on the ridge a = b. From the defaults (1, 1), a search over one
    # parameter at a time stops at once (each single step loses); a step of both gains.
    def score(v):
        return -(v["a"] - v["b"]) ** 2 - 0.1 * (v["b"] - 3) ** 2

    chosen, _, best = tune(score, (Param("a", (1, 2, 3, 4, 5), 1, step=1, low=1, high=5),
                                   Param("b", (1, 2, 3, 4, 5), 1, step=1, low=1, high=5)))
    assert chosen == {"a": 3, "b": 3} and best == 0


def test_tuner_takes_no_diagonal_step_along_a_named_category():
    # A ridge between a number and a named category (ordered on the grid only by chance): no
    # step of both is tried, so the search stays at the start, scoring the two axes only.
    scored = []
    names = ("a", "b", "c", "d", "e")

    def score(v):
        scored.append((v["x"], v["kind"]))
        return -(v["x"] - names.index(v["kind"])) ** 2 - 0.1 * (v["x"] - 3) ** 2

    chosen, _, _ = tune(score, (Param("x", (0, 1, 2, 3, 4), 0, step=1, low=0, high=4),
                                Param("kind", names, "a")))
    assert chosen == {"x": 0, "kind": "a"}
    assert all(x == 0 or kind == "a" for x, kind in scored)


@pytest.fixture(scope="module")
def real_tuning_images(real_data):
    x, _ = fm.load_split(real_data, "train")
    clean = x[-6:].numpy().reshape(-1, 28, 28).astype(np.float64)
    noisy = add_white_noise(x[-6:], 0.5, torch.Generator().manual_seed(
        denoisers.TUNE_NOISE_SEED)).numpy().reshape(-1, 28, 28).astype(np.float64)
    return noisy, clean


def test_non_local_means_tuned_on_real_images_lands_inside_its_grids_and_beats_defaults(
        real_tuning_images):
    """The defect this guards: the filter's own sigma fixed at the noise level, h alone tuned:
    h then stops mattering as it shrinks, and its best value runs off the grid."""
    noisy, clean = real_tuning_images
    params = FILTERS["non-local means"][1]
    assert {p.name for p in params} == {"h", "sigma_factor", "patch_size", "patch_distance",
                                        "fast_mode"}

    def score(values):
        return measures.mean_psnr(filters.apply("non-local means", noisy, 0.5, values), clean)

    chosen, curves, best = tune(score, params)
    assert not [name for name, c in curves.items() if c["at_grid_edge"]], curves
    assert 0.0 in curves["sigma_factor"]["grid"]
    assert curves["h"]["range_db"] > 1.0  # h matters where it was chosen
    defaults = {p.name: p.default for p in params} | {"h": filters.NLM_DEFAULT_H / 0.5}
    assert best >= score(defaults)


COMMITTED = ROOT / "figures" / "denoisers" / "denoisers.json"


@pytest.mark.skipif(not COMMITTED.exists(), reason="no committed denoiser results (hand-in)")
def test_committed_tuning_is_inside_its_grids_and_no_worse_than_defaults():
    result = json.loads(COMMITTED.read_text())
    methods = {(t["sigma"], t["method"]) for t in result["tuning"]}
    for sigma in result["sigmas"]:
        for name in (*FILTERS, "PCA-k"):
            assert (sigma, name) in methods, (sigma, name)
    for t in result["tuning"]:
        where = f"{t['method']} at sigma {t['sigma']}"
        for name, curve in t["parameters"].items():
            assert not curve["at_grid_edge"], f"{where}: {name} at its grid's edge"
            assert curve["chosen"] in curve["grid"]
            assert max(curve["psnr_db"]) == pytest.approx(t["tuned_psnr_db"]), where
        assert t["tuned_psnr_db"] >= t["default_psnr_db"] - 1e-9, where
    assert result["tune_images"] >= 500 and result["subset_images"] >= 1000
    # BM3D's reduced FFT domain, checked at every chosen setting against the library's own
    bm3d = [t for t in result["tuning"] if t["filter"] == "BM3D"]
    assert len(bm3d) == 2 * len(result["sigmas"])
    for t in bm3d:
        assert (t["nf"], t["library_nf"]) == (filters.BM3D_NF, 32)
        assert abs(t["tuned_psnr_db"] - t["library_nf_psnr_db"]) < 0.05, t["method"]


@pytest.mark.skipif(not COMMITTED.exists(), reason="no committed denoiser results (hand-in)")
def test_committed_learned_rows_have_at_least_three_seeds_and_the_sweeps_reach_width_128():
    result = json.loads(COMMITTED.read_text())
    learned = [s for s in result["summary"] if s["kind"] == "learned"]
    assert learned and all(s["subset"]["psnr_db"]["n"] >= 3 for s in learned)
    assert 128 in result["widths"] and {0.2, 0.5, 1.0} <= set(result["sigmas"])
    bm3d = [s for s in result["summary"] if s["method"] == "BM3D"]
    assert len(bm3d) == len(result["sigmas"]) and all(s["full"] is None for s in bm3d)


def test_mirrored_decoder_mirrors_the_encoder_and_keeps_its_initial_weights():
    ex09.set_seeds(3)
    sheet = ex09.AutoEncoder()
    ex09.set_seeds(3)
    mirrored = variants.build_model("mirrored")()
    sizes = [m.out_features for m in mirrored.g.modules() if isinstance(m, torch.nn.Linear)]
    assert sizes == [16, 32, 64, 128, 784]
    assert isinstance(mirrored.g.net[-1], torch.nn.Tanh)
    for a, b in zip(sheet.f.parameters(), mirrored.f.parameters()):
        assert torch.equal(a, b)


def analyses_main(*args):
    from analyses.__main__ import main
    return main([str(a) for a in args])


def test_denoiser_comparison_end_to_end(fake_data, tmp_path, capsys, monkeypatch,
                                        runs_from_store):
    # Two filters, one of them BM3D (scored on the subset only): every filter's tuning runs the
    # same code, and non-local means alone would take a minute here (tested on real images above).
    monkeypatch.setattr(denoisers, "FILTERS", {k: FILTERS[k] for k in ("Gaussian", "BM3D")})
    fitted, real_fit = [], denoisers.pca_fit
    monkeypatch.setattr(denoisers, "pca_fit", lambda x, k: fitted.append(np.array(x)) or
                        real_fit(x, k))
    common = ["--data-dir", fake_data, "--skip-md5", "--out-dir", tmp_path, "--epochs", "1",
              "--tsne-samples", "0"]
    assert analyses_main("denoisers", *common, "--tune-images", "20", "--bm3d-tune-images", "1",
                         "--nlm-tune-images", "10",
                         "--subset-images", "10", "--seeds", "0", "1", "--sweep-seeds", "1",
                         "--widths", "8", "16", "--sigmas", "0.5") == 0
    result = json.loads((tmp_path / "denoisers" / "denoisers.json").read_text())
    # PCA is fitted on the training images less the 20 held out to tune every method's k.
    x_train, _ = fm.load_split(fake_data, "train", verify_md5=False)
    assert fitted and all(np.array_equal(x, x_train[:-20].numpy()) for x in fitted)
    summary = {s["method"]: s for s in result["summary"]}
    for expected in ("noisy input (no denoising)", "Gaussian", "BM3D", "PCA-8 (the code size)", "DAE",
                     "plain AE fed the noisy input", "DAE, mirrored decoder", "DAE, code size 16",
                     "BM3D, clipping-aware", "Gaussian, clipping-aware",
                     "plain AE fed the clean input"):
        assert expected in summary, expected
    assert summary["DAE"]["seeds"] == [0, 1] and summary["DAE"]["subset"]["psnr_db"]["n"] == 2
    assert summary["BM3D"]["full"] is None and summary["Gaussian"]["full"] is not None
    # The DAE's seed-1 row is that run's model on the fixed noisy test images, image for image.
    x_test, _ = fm.load_split(fake_data, "test", verify_md5=False)
    noisy = add_white_noise(x_test, 0.5, torch.Generator().manual_seed(TEST_NOISE_SEED))
    model = runs.load_run(tmp_path, "seed1/denoise")["model"]
    row, = [r for r in result["rows"] if (r["method"], r["seed"]) == ("DAE", 1)]
    assert row["full"]["mse"] == pytest.approx(ex09.evaluate(model, noisy, x_test), rel=1e-4)
    assert row["subset"]["mse"] == pytest.approx(
        ex09.evaluate(model, noisy[:10], x_test[:10]), rel=1e-4)
    row, = [r for r in result["rows"] if r["method"] == "noisy input (no denoising)"]
    assert row["full"]["mse"] == pytest.approx(float(torch.mean((noisy - x_test) ** 2)), rel=1e-6)
    spread = summary["DAE"]["full"]["psnr_db"]
    per_seed = [r["full"]["psnr_db"] for r in result["rows"] if r["method"] == "DAE"]
    assert spread["mean"] == pytest.approx(np.mean(per_seed))
    assert spread["sd"] == pytest.approx(np.std(per_seed, ddof=1))
    assert [spread["min"], spread["max"]] == [min(per_seed), max(per_seed)]
    # The ranking at sigma 0.5: every method once, best subset PSNR first.
    ranked = [summary[m]["subset"]["psnr_db"]["mean"] for m in result["ranking_at_default_sigma"]]
    assert sorted(result["ranking_at_default_sigma"]) == sorted(
        m for m in summary if m != "plain AE fed the clean input")
    assert ranked == sorted(ranked, reverse=True) and ranked[0] > ranked[-1]
    for name in ("standing.png", "tuning.png", "examples.png"):
        assert (tmp_path / "denoisers" / name).read_bytes()[:4] == b"\x89PNG"
    # The background's mean under the noise, E clip(-1 + 0.5 Z, -1, 1), worked out here.
    from scipy.stats import norm
    top = 2 / 0.5
    background = -0.5 - (norm.cdf(top) - 0.5) + 0.5 * (norm.pdf(0) - norm.pdf(top)) + norm.sf(top)
    assert result["clipped_background_mean"]["0.5"] == pytest.approx(background, abs=1e-6)
    paired_study_on(fake_data, tmp_path, capsys, monkeypatch, result, noisy, x_test)


def paired_study_on(fake_data, out_dir, capsys, monkeypatch, result, noisy, x_test):
    """python -m analyses paired on the comparison above: the Gaussian filter against the DAE,
    image by image, each image's PSNR worked out here (the filter with scipy at the tuned std)."""
    from scipy.ndimage import gaussian_filter
    from scipy.stats import t
    from analyses import paired
    monkeypatch.setattr(paired, "FILTERS", ("Gaussian",))
    monkeypatch.setattr(paired, "LEARNED", ("DAE",))
    common = ["--data-dir", fake_data, "--skip-md5", "--out-dir", out_dir, "--jobs", "1"]
    assert analyses_main("paired", *common) == 0
    capsys.readouterr()
    pairs = json.loads((out_dir / "paired" / "paired.json").read_text())["pairs"]
    clean, shown = x_test[:10].double().numpy(), noisy[:10].double().numpy()

    def psnr(estimate):
        error = ((np.clip(estimate.reshape(10, -1), -1, 1) - clean) ** 2).mean(axis=1)
        return 10 * np.log10(4 / error)
    dae_seeds = [psnr(runs.load_run(out_dir, name)["model"].eval()(noisy[:10]).detach()
                      .double().numpy()) for name in ("denoise", "seed1/denoise")]
    dae = np.mean(dae_seeds, axis=0)
    std, = [t_["chosen"]["std"] for t_ in result["tuning"]
            if t_["method"] == "Gaussian" and t_["sigma"] == 0.5]
    gauss = psnr(np.stack([gaussian_filter(im.reshape(28, 28), std, mode="nearest")
                           for im in shown]))
    pair, = [p for p in pairs if (p["filter"], p["learned"]) == ("Gaussian", "DAE")]
    d = gauss - dae
    half = t.ppf(0.975, 9) * d.std(ddof=1) / np.sqrt(10)
    assert pair["mean"] == pytest.approx(d.mean(), abs=1e-4)
    assert pair["sd"] == pytest.approx(d.std(ddof=1), abs=1e-4)
    assert pair["ci95"] == pytest.approx([d.mean() - half, d.mean() + half], abs=1e-4)
    assert pair["share_ahead"] == np.mean(d > 0) and pair["n"] == 10
    # by MSE too: each image's MSE, the seeds' averaged; and the PSNR of the pooled MSE
    mse_dae = np.mean([4 * 10 ** (-p / 10) for p in dae_seeds], axis=0)
    mse_gauss = 4 * 10 ** (-gauss / 10)
    assert pair["mse"]["mean"] == pytest.approx((mse_gauss - mse_dae).mean(), rel=1e-3)
    pooled = json.loads((out_dir / "paired" / "paired.json").read_text())["pooled_psnr_db"]
    assert pooled["DAE"] == pytest.approx(10 * np.log10(4 / mse_dae.mean()), abs=1e-3)
    # A network tuned by dae-tuning is paired from the per-image PSNRs it recorded, averaged
    # over its seeds (here the DAE's, raised by 0.25 and 0.75 dB: 0.5 on average).
    tuning = out_dir / "dae_tuning" / "dae_tuning.json"
    tuning.parent.mkdir()
    per_seed = {str(s): {"subset_image_psnr_db": list(dae + lift)} for s, lift in
                ((2, 0.25), (3, 0.75))}
    tuned_record = {"subset_images": 10, "test_noise_seed": result["test_noise_seed"],
                    "tuned": {"16": {"per_seed": per_seed,
                                     "subset_psnr_db": {"mean": float(dae.mean() + 0.5)}}}}
    tuning.write_text(json.dumps(tuned_record))
    shutil.rmtree(out_dir / "paired")
    assert analyses_main("paired", *common) == 0
    capsys.readouterr()
    pairs = json.loads((out_dir / "paired" / "paired.json").read_text())["pairs"]
    pair, = [p for p in pairs
             if (p["filter"], p["learned"]) == ("Gaussian", "DAE, widened to 16, tuned")]
    assert pair["mean"] == pytest.approx(d.mean() - 0.5, abs=1e-4)
    # ... and refused where its per-image values do not average to the mean it recorded.
    tuned_record["tuned"]["16"]["subset_psnr_db"]["mean"] += 0.1
    tuning.write_text(json.dumps(tuned_record))
    shutil.rmtree(out_dir / "paired")
    assert analyses_main("paired", *common) == 1
    assert "DAE, widened to 16, tuned: " in capsys.readouterr().err
    tuning.unlink()
    # So is the widened DAE trained longer (dae-longer), at the epoch it chose.
    longer = out_dir / "dae_longer" / "dae_longer.json"
    longer.parent.mkdir()
    longer.write_text(json.dumps({
        "subset_images": 10, "width": 16, "chosen_epoch": 30, "test_at_chosen": {
            "mean": float(dae.mean() + 1)},
        "subset_image_psnr_db_at_chosen": {"2": list(dae + 0.5), "3": list(dae + 1.5)}}))
    assert analyses_main("paired", *common) == 0
    capsys.readouterr()
    pairs = json.loads((out_dir / "paired" / "paired.json").read_text())["pairs"]
    pair, = [p for p in pairs if (p["filter"], p["learned"]) == (
        "Gaussian", "DAE, widened to 16, tuned, 30 epochs")]
    assert pair["mean"] == pytest.approx(d.mean() - 1, abs=1e-4)
    shutil.rmtree(longer.parent)
    shutil.rmtree(out_dir / "paired")
    # So is the wider network of wide-tuning (one seed), at its held-out choice.
    wide = out_dir / "wide_tuning" / "wide_tuning.json"
    wide.parent.mkdir()
    wide.write_text(json.dumps({
        "subset_images": 10, "width": 32, "seed": 1,
        "chosen": {"epoch": 20, "test_psnr_db": float(dae.mean() + 2)},
        "subset_image_psnr_db_at_chosen": list(dae + 2)}))
    assert analyses_main("paired", *common) == 0
    capsys.readouterr()
    pairs = json.loads((out_dir / "paired" / "paired.json").read_text())["pairs"]
    pair, = [p for p in pairs if (p["filter"], p["learned"]) == (
        "Gaussian", "DAE, widened to 32, tuned, 20 epochs, seed 1")]
    assert pair["mean"] == pytest.approx(d.mean() - 2, abs=1e-4)
    shutil.rmtree(wide.parent)
    shutil.rmtree(out_dir / "paired")
    # A comparison made from other runs or other filter settings is refused, nothing published.
    path = out_dir / "denoisers" / "denoisers.json"
    original = path.read_text()
    for method in ("DAE", "Gaussian, clipping-aware"):
        edited = json.loads(original)
        next(s for s in edited["summary"] if s["method"] == method)["subset"]["psnr_db"][
            "mean"] += 1
        path.write_text(json.dumps(edited))
        assert analyses_main("paired", *common) == 1
        assert f"{method}: " in capsys.readouterr().err
        assert not (out_dir / "paired").exists()
    path.unlink()
    assert analyses_main("paired", *common) == 1
    assert "python -m analyses denoisers" in capsys.readouterr().err


def test_denoisers_refuses_tuning_images_that_leave_pca_nothing(fake_data, tmp_path, capsys):
    assert analyses_main("denoisers", "--data-dir", fake_data, "--skip-md5", "--out-dir",
                         tmp_path, "--tune-images", "300") == 1
    assert "leaves no training image" in capsys.readouterr().err
    assert not (tmp_path / "denoisers").exists()


def test_mirrored_study_end_to_end(fake_data, tmp_path, runs_from_store):
    assert analyses_main("mirrored", "--data-dir", fake_data, "--skip-md5", "--out-dir",
                         tmp_path, "--epochs", "1", "--tsne-samples", "0", "--seeds", "1",
                         "--scan-seeds", "3") == 0
    result = json.loads((tmp_path / "mirrored" / "mirrored.json").read_text())
    assert len(result["rows"]) == 4 and set(result["dead_at_start"]) == {
        "as printed (8-8-32)", "mirrored (8-16-32)"}
    x_test, y_test = fm.load_split(fake_data, "test", verify_md5=False)
    # The scan covers seeds 0 to 2, worked out here: a start is dead when its output is one
    # image for every test image (seed 0's printed network is, on these images too).
    dead = []
    for seed in range(3):
        ex09.set_seeds(seed)
        with torch.no_grad():
            dead += [seed] * bool(ex09.AutoEncoder()(x_test).std(dim=0).max() == 0)
    assert result["dead_at_start"]["as printed (8-8-32)"] == dead == [0]
    model = runs.load_run(tmp_path, "variants/mirrored/seed1/plain")["model"]
    row, = [r for r in result["rows"] if (r["decoder"], r["mode"]) == (
        "mirrored (8-16-32)", "plain")]
    assert row["test_mse"] == pytest.approx(ex09.evaluate(model, x_test, x_test), rel=1e-4)
    # Denoising PSNR: each run's model on the fixed noisy test set against the CLEAN images, the
    # mean over images of 10 log10(2**2 / that image's MSE), worked out here.
    noisy = add_white_noise(x_test, 0.5, torch.Generator().manual_seed(TEST_NOISE_SEED))
    by = {(r["decoder"], r["mode"]): r for r in result["rows"]}
    for (decoder, mode), r in by.items():
        name = ("variants/mirrored/seed1/" if decoder.startswith("mirrored") else "seed1/") + mode
        with torch.no_grad():
            out = runs.load_run(tmp_path, name)["model"](noisy).double()
        per_image = ((out - x_test.double()) ** 2).mean(dim=1)
        assert r["denoising_psnr_db"] == pytest.approx(
            float((10 * torch.log10(4 / per_image)).mean()), rel=1e-6)
    # The paired difference at one seed: mirrored minus printed, nothing else.
    for mode in ("plain", "denoise"):
        for key in ("test_mse", "knn5_accuracy", "denoising_psnr_db"):
            difference = result["paired_differences"][f"{mode}: {key}, mirrored minus printed"]
            assert difference["mean"] == pytest.approx(
                by["mirrored (8-16-32)", mode][key] - by["as printed (8-8-32)", mode][key])
    assert (tmp_path / "mirrored" / "mirrored.png").read_bytes()[:4] == b"\x89PNG"


def test_redraw_draws_the_tuning_curves_again_and_keeps_the_rest_of_the_folder(tmp_path,
                                                                               monkeypatch):
    from analyses.__main__ import main
    monkeypatch.setattr(denoisers, "check", lambda *a: pytest.fail("--redraw ran the comparison"))
    drawn = []
    monkeypatch.setattr(denoisers, "plot_tuning",
                        lambda tuning, path: drawn.append(tuning) or path.write_text("png"))
    folder = tmp_path / "denoisers"
    folder.mkdir()
    searches = [{"filter": "Gaussian", "sigma": 0.5, "pipeline": p, "tuned_psnr_db": 20.0,
                 "parameters": {}} for p in ("blind", "clipping-aware")]
    record = json.dumps({"tuning": searches})
    (folder / "denoisers.json").write_text(record)
    (folder / "standing.png").write_text("kept")
    assert main(["denoisers", "--out-dir", str(tmp_path), "--redraw"]) == 0
    assert (folder / "denoisers.json").read_text() == record
    assert (folder / "standing.png").read_text() == "kept"  # the folder is published whole
    assert (folder / "tuning.png").read_text() == "png"
    assert list(drawn[0].values()) == searches
    # no record: one line saying which command makes it
    shutil.rmtree(folder)
    assert main(["denoisers", "--out-dir", str(tmp_path), "--redraw"]) == 1
    assert not folder.exists()
