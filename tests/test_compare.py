"""Evaluation beyond the sheet: the measures on cases with known answers, compare mode end to
end, and the Q1 experiment end to end."""

import csv
import json
import time

import numpy as np
import pytest
import torch

import ex09
import fashion_mnist as fm
from analyses import measures, runs, variants
from conftest import LIVE_SEED, assert_alive, run_analysis
from noise import TEST_NOISE_SEED, add_white_noise


def test_pca8_reconstructs_data_in_an_8d_subspace_exactly_and_beats_pca4():
    rng = np.random.default_rng(0)
    basis = np.linalg.qr(rng.normal(size=(784, 8)))[0].T  # 8 orthonormal directions
    offset = rng.normal(size=784)
    train = rng.normal(size=(500, 8)) @ basis + offset
    test = rng.normal(size=(50, 8)) @ basis + offset
    mean, components = measures.pca_fit(train, 8)
    assert measures.mse(measures.pca_reconstruct(test, mean, components), test) < 1e-20
    mean4, components4 = measures.pca_fit(train, 4)
    # Four of the eight unit-variance directions are lost: about 4/784 per pixel.
    assert measures.mse(measures.pca_reconstruct(test, mean4, components4), test) == pytest.approx(
        4 / 784, rel=0.3)


def test_psnr_of_known_arrays():
    target = np.zeros((2, 4))
    # MSE 0.04 per image on a peak-to-peak range of 2: 10 log10(4 / 0.04) = 20 dB.
    assert measures.psnr(target + 0.2, target) == pytest.approx(20.0)
    # Mean of per-image PSNRs: 20 dB and 40 dB (MSE 0.0004) average to 30 dB.
    estimate = np.array([[0.2] * 4, [0.02] * 4])
    assert measures.psnr(estimate, target) == pytest.approx(30.0)


def test_knn_on_separable_and_on_uninformative_codes():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 20)
    separable = np.eye(10)[labels] * 10 + rng.normal(scale=0.1, size=(200, 10))
    assert measures.knn_accuracy(separable, labels, separable, labels) == 1.0
    noise = rng.normal(size=(200, 10))
    shuffled = rng.permutation(labels)
    assert measures.knn_accuracy(noise, labels, rng.normal(size=(200, 10)), shuffled) < 0.3


def test_linear_cka_sees_through_rotation_and_scale_but_not_unrelated_codes():
    rng = np.random.default_rng(0)
    codes = rng.normal(size=(2000, 8))
    rotation = np.linalg.qr(rng.normal(size=(8, 8)))[0]
    assert measures.linear_cka(codes, 3.0 * codes @ rotation + 5.0) == pytest.approx(1.0)
    assert measures.linear_cka(codes, rng.normal(size=(2000, 8))) < 0.05
    assert measures.linear_cka(codes, np.zeros((2000, 8))) == 0.0  # a collapsed code


def test_active_units_on_a_crafted_code_matrix():
    codes = np.zeros((1000, 8))
    codes[:, 0] = 1.0          # always on
    codes[:10, 1] = 0.5        # on for exactly 1%: counts
    codes[:9, 2] = 0.5         # on for 0.9%: does not
    codes[500:, 3] = -2.0      # negative values are active too (linear code)
    codes[:, 4] = 7.0          # non-zero but constant: active, yet carries nothing
    assert measures.active_units(codes) == 4
    assert measures.varying_units(codes) == 3  # units 1, 2 and 3 change between images


def test_compare_before_any_run_is_one_clear_message_from_the_command_line(tmp_path):
    # The first thing a new user may try; it once ended in a traceback (an import circle).
    result = run_analysis("compare", "--out-dir", tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "plain and denoise run" in result.stderr
    assert "python ex09.py --mode plain" in result.stderr
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "metrics.json").write_text("{}")
    result = run_analysis("compare", "--out-dir", tmp_path)
    assert result.returncode == 1 and "python ex09.py --mode denoise" in result.stderr
    assert "--mode plain\n" not in result.stderr + "\n"  # only the missing run is named


@pytest.fixture(scope="module")
def tiny_runs(fake_data, tmp_path_factory):
    """plain, denoise and linear-code runs on the tiny data, at a seed whose network is alive."""
    out = tmp_path_factory.mktemp("runs")
    tiny = ["--data-dir", str(fake_data), "--out-dir", str(out), "--skip-md5", "--epochs", "2",
            "--tsne-samples", "30", "--seed", str(LIVE_SEED)]
    for extra in (["--mode", "plain"], ["--mode", "denoise"]):
        assert ex09.main([*tiny, *extra]) == 0
    # at seed 0, its folder's (a run renamed into another seed's folder is refused)
    assert analyses_main("variant", "linear-code", *tiny[:-2], "--seed", "0") == 0
    return out


def analyses_main(*args):
    """python -m analyses ..., in this process (the command line itself is tested above)."""
    from analyses.__main__ import main
    return main([str(a) for a in args])


def run_compare(runs, fake_data, capsys):
    assert analyses_main("compare", "--data-dir", fake_data, "--out-dir", runs, "--skip-md5") == 0
    return capsys.readouterr().out, json.loads((runs / "compare" / "comparison.json").read_text())


def test_compare_end_to_end_on_tiny_runs(tiny_runs, fake_data, capsys):
    out, summary = run_compare(tiny_runs, fake_data, capsys)
    assert "PSNR" in out and "knn5_accuracy" in out
    out = tiny_runs / "compare"
    for name in ("tsne_side_by_side.png", "loss_curves.png", "per_class_mse.png"):
        assert (out / name).read_bytes()[:4] == b"\x89PNG"
    assert [r["model"] for r in summary["reconstruction"]] == [
        "PCA-8 (linear)", "plain", "denoise", "plain-linear-code"]
    assert [r["code"] for r in summary["codes"]] == [
        "plain", "denoise", "plain-linear-code", "PCA-8", "raw pixels"]
    assert len(summary["per_class_mse"]) == 10
    # The recomputed plain test MSE matches what the run itself reported.
    plain = json.loads((tiny_runs / "plain" / "metrics.json").read_text())
    assert summary["reconstruction"][1]["test_mse"] == pytest.approx(plain["final_test_loss"],
                                                                     rel=1e-5)
    for name in ("reconstruction", "per_class_mse", "denoising", "codes"):
        assert (out / f"{name}.csv").read_text().count("\n") >= 3


def test_compare_measures_what_it_says(tiny_runs, fake_data, capsys):
    """Noisy inputs from the documented seed, 8 PCA components, k = 5 neighbours: each
    recomputed here independently, and each check able to fail (a constant network, another
    noise seed, another k or another PCA width would give other numbers)."""
    _, summary = run_compare(tiny_runs, fake_data, capsys)
    x_train, y_train = fm.load_split(fake_data, "train", verify_md5=False)
    x_test, y_test = fm.load_split(fake_data, "test", verify_md5=False)
    denoise = ex09.AutoEncoder()
    denoise.load_state_dict(torch.load(tiny_runs / "denoise" / "model.pt"))
    assert_alive(denoise, x_test)

    def noisy_mse(seed):
        noisy = add_white_noise(x_test, 0.5, torch.Generator().manual_seed(seed))
        return ex09.evaluate(denoise, noisy, x_test)

    reported = summary["denoising"][1]["mse_noisy_input"]
    assert summary["denoising"][1]["mse_clean_input"] == pytest.approx(
        ex09.evaluate(denoise, x_test, x_test), rel=1e-5)  # its output for the clean images
    assert summary["test_noise_seed"] == TEST_NOISE_SEED
    assert reported == pytest.approx(noisy_mse(TEST_NOISE_SEED), rel=1e-5)
    assert reported != pytest.approx(noisy_mse(TEST_NOISE_SEED + 1), rel=1e-5)
    run = json.loads((tiny_runs / "denoise" / "metrics.json").read_text())
    assert run["final_test_loss"] == pytest.approx(reported, rel=1e-5)
    # The PSNR rows, by hand: per image 10 log10(2^2 / MSE), averaged over the test images.
    noisy = add_white_noise(x_test, 0.5, torch.Generator().manual_seed(TEST_NOISE_SEED))
    with torch.no_grad():
        out = denoise(noisy)

    def psnr(estimate):
        error = ((estimate.double() - x_test.double()) ** 2).mean(dim=1)
        return float((10 * torch.log10(4.0 / error)).mean())
    assert summary["psnr_db"]["noisy input itself"] == pytest.approx(psnr(noisy), rel=1e-6)
    assert summary["psnr_db"]["denoising AE output"] == pytest.approx(psnr(out), rel=1e-5)

    def pca_mse(k):
        train, test = x_train.double().numpy(), x_test.double().numpy()
        mean = train.mean(axis=0)
        basis = np.linalg.svd(train - mean, full_matrices=False)[2][:k]
        return float(np.mean(((test - mean) @ basis.T @ basis + mean - test) ** 2)), \
            (train - mean) @ basis.T, (test - mean) @ basis.T

    recon = {r["model"]: r["test_mse"] for r in summary["reconstruction"]}
    assert recon["PCA-8 (linear)"] == pytest.approx(pca_mse(8)[0], rel=1e-6)
    assert recon["PCA-8 (linear)"] != pytest.approx(pca_mse(7)[0], rel=1e-6)

    from sklearn.neighbors import KNeighborsClassifier

    def knn(k, train, test):
        return KNeighborsClassifier(k).fit(train, y_train).score(test, y_test)

    knn_rows = {r["code"]: r["knn5_accuracy"] for r in summary["codes"]}
    _, train8, test8 = pca_mse(8)
    assert summary["knn_k"] == 5 and summary["pca_components"] == 8
    assert knn_rows["PCA-8"] == pytest.approx(knn(5, train8, test8))
    assert knn_rows["raw pixels"] == pytest.approx(knn(5, x_train.numpy(), x_test.numpy()))


@pytest.mark.parametrize("file, damage, fragment", [
    ("model.pt", b"not a model", "model.pt"),
    ("metrics.json", b"{broken", "metrics.json"),
    ("metrics.json", b"{}", "metrics.json"),
    ("losses.csv", b"epoch,train_loss\n1", "losses.csv"),
    ("tsne_codes.npz", b"PK\x03\x04 not a zip", "tsne_codes.npz"),
    ("model.pt", None, "model.pt"),
])
def test_damaged_or_missing_run_files_name_the_file_and_the_run_to_redo(
        tiny_runs, fake_data, tmp_path, capsys, file, damage, fragment):
    import shutil
    runs = tmp_path / "runs"
    shutil.copytree(tiny_runs, runs)
    shutil.rmtree(runs / "compare", ignore_errors=True)
    path = runs / "denoise" / file
    if damage is None:
        path.unlink()
    else:
        path.write_bytes(damage)
    assert analyses_main("compare", "--data-dir", fake_data, "--out-dir", runs, "--skip-md5") == 1
    err = capsys.readouterr().err
    assert str(path) in err and fragment in err
    assert f"python ex09.py --mode denoise --out-dir {runs}" in err
    assert not (runs / "compare").exists()  # nothing published


def set_in_metrics(folder, change):
    metrics = json.loads((folder / "metrics.json").read_text())
    change(metrics)
    (folder / "metrics.json").write_text(json.dumps(metrics))


def set_in_tsne(folder, change):
    with np.load(folder / "tsne_codes.npz") as saved:
        arrays = dict(saved)
    change(arrays)
    np.savez(folder / "tsne_codes.npz", **arrays)


def empty_column(folder, column):
    with open(folder / "losses.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        row[column] = ""
    ex09.write_csv(rows, folder / "losses.csv")


def empty_last(folder, column):
    with open(folder / "losses.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    rows[-1][column] = ""
    ex09.write_csv(rows, folder / "losses.csv")


@pytest.mark.parametrize("file, damage, field", [
    ("metrics.json", lambda f: set_in_metrics(f, lambda m: m["config"].update(noise_std=None)),
     "config.noise_std is None"),
    ("metrics.json", lambda f: set_in_metrics(f, lambda m: m["config"].update(noise_std="0.5")),
     "config.noise_std is '0.5'"),
    ("metrics.json", lambda f: set_in_metrics(f, lambda m: m["config"].update(seed="1")),
     "config.seed is '1'"),
    ("metrics.json", lambda f: set_in_metrics(f, lambda m: m.update(final_test_loss=float("nan"))),
     "final_test_loss is nan"),
    ("tsne_codes.npz", lambda f: set_in_tsne(f, lambda a: a.update(coords=a["coords"][:, 0])),
     "coords has shape (30,)"),
    ("tsne_codes.npz", lambda f: set_in_tsne(f, lambda a: a.update(labels=a["labels"] * 0)),
     "labels [0] are not"),
    ("tsne_codes.npz", lambda f: set_in_tsne(f, lambda a: a["codes"].__setitem__((3, 2), np.nan)),
     "codes holds NaN"),
    ("losses.csv", lambda f: empty_column(f, "train_loss"), "train_loss at epoch 1 is None"),
    ("losses.csv", lambda f: empty_column(f, "test_loss"), "test_loss at epoch 0 is None"),
    ("losses.csv", lambda f: empty_last(f, "test_loss"), "test_loss at epoch 2 is None"),
])
def test_run_files_that_load_but_hold_nonsense_name_the_file_and_the_field(
        tiny_runs, tmp_path, file, damage, field):
    import shutil
    home = tmp_path / "runs"
    shutil.copytree(tiny_runs / "denoise", home / "denoise")
    runs.load_run(home, "denoise")  # as made, it loads
    damage(home / "denoise")
    with pytest.raises(ex09.UsageError) as error:
        runs.load_run(home, "denoise")
    message = str(error.value)
    assert str(home / "denoise" / file) in message and field in message
    if file != "metrics.json":  # the advice redoes the run with its own settings
        assert "python ex09.py --mode denoise --out-dir" in message
        assert f"--seed={LIVE_SEED} --epochs=2" in message and "--tsne-samples=30" in message


def test_linear_code_variant_has_no_relu_on_the_code_and_the_sheets_initial_weights():
    ex09.set_seeds(3)
    sheet = ex09.AutoEncoder()
    ex09.set_seeds(3)
    model = variants.linear_code_autoencoder()
    assert isinstance(model.f.net[-1], torch.nn.Linear) and model.f.net[-1].out_features == 8
    assert [type(m) for m in model.f.net] == [type(m) for m in sheet.f.net][:-1]
    for (name, a), (_, b) in zip(model.state_dict().items(), sheet.state_dict().items()):
        assert torch.equal(a, b), name


def test_variant_runs_go_to_their_own_folder_and_reload(fake_data, tmp_path):
    tiny = ["--data-dir", fake_data, "--out-dir", tmp_path, "--skip-md5", "--epochs", "1",
            "--tsne-samples", "0", "--seed", "2"]
    assert analyses_main("variant", "width16", "--mode", "denoise", "--noise-std", "0.3",
                         *tiny) == 0
    name = "variants/width16-sigma0.3/seed2/denoise"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["variants"]  # no default run touched
    run = runs.load_run(tmp_path, name)
    assert run["metrics"]["config"]["variant"] == "width16"
    assert [m.out_features for m in run["model"].f.net if isinstance(m, torch.nn.Linear)] == [
        128, 64, 32, 16, 16]
    assert runs.run_command(tmp_path, name) == [
        "-m", "analyses", "variant", "width16", "--mode", "denoise", "--seed", "2",
        "--noise-std", "0.3", "--out-dir", str(tmp_path)]
    assert runs.run_command(tmp_path, "seed3/plain") == [
        "ex09.py", "--mode", "plain", "--seed", "3", "--out-dir", str(tmp_path / "seed3")]
    with pytest.raises(SystemExit):  # argparse's "invalid variant_name value"
        analyses_main("variant", "width0", *tiny)


def test_q1_experiment_end_to_end(fake_data, tmp_path):
    assert analyses_main(
        "q1", "--data-dir", fake_data, "--skip-md5", "--out-dir", tmp_path, "--subset", "200",
        "--seconds", "0.2", "--floor-seconds", "0.2", "--seeds", "2", "--noise-repeats", "5",
        "--lr-grid", "0.01", "0.1", "1") == 0
    summary = json.loads((tmp_path / "q1" / "q1_results.json").read_text())
    # The loss of predicting the mean image, worked out here on the same 200 images.
    x = fm.load_split(fake_data, "train", verify_md5=False)[0][:200].double()
    assert summary["mean_image_loss"] == pytest.approx(float(((x - x.mean(dim=0)) ** 2).mean()),
                                                       rel=1e-5)
    variants = summary["variants"]
    assert {name: v["batch_size"] for name, v in variants.items()} == {
        "batch": 200, "mini-batch": 128, "stochastic": 1}
    for v in variants.values():
        tried = {float(lr): loss for lr, loss in v["tuning_final_loss"].items()}
        assert v["lr"] == min(tried, key=lambda lr: (tried[lr], lr))  # the best one wins
        # Never the edge of the grid it was chosen from: the grid grows until it is not.
        assert v["lr_at_grid_edge"] or min(tried) < v["lr"] < max(tried)
        assert len(v["final_loss"]) == 2 and all(s > 0 for s in v["steps"])
    # Started at the optimum, batch GD (zero gradient) stays there; stochastic GD does not.
    assert max(abs(e) for e in variants["batch"]["floor_excess"]) < 1e-5
    assert min(variants["stochastic"]["floor_excess"]) > 10 * max(
        abs(e) for e in variants["batch"]["floor_excess"])
    assert (tmp_path / "q1" / "q1_gd_variants.png").read_bytes()[:4] == b"\x89PNG"
    rows = (tmp_path / "q1" / "q1_curves.csv").read_text().splitlines()
    assert rows[0] == "variant,start,seed,steps,samples,seconds,loss" and len(rows) > 6
    # The rates, worked out from each run's last logged row (from the random start): the
    # median over seeds of samples (steps) over training seconds.
    import statistics
    last = {}
    for row in rows[1:]:
        name, start, seed, steps, samples, seconds, _ = row.split(",")
        if start == "random":
            last[name, seed] = (int(steps), int(samples), float(seconds))
    for name, v in variants.items():
        finals = [f for (n, _), f in last.items() if n == name]
        assert v["samples_per_second"] == pytest.approx(
            statistics.median(f[1] / f[2] for f in finals))
        assert v["steps_per_second"] == pytest.approx(
            statistics.median(f[0] / f[2] for f in finals))
        assert v["steps"] == [f[0] for f in finals] and v["samples"] == [f[1] for f in finals]


def test_q1_optimum_is_the_pca_error_and_a_stationary_point():
    from analyses import q1_gd_variants as q1
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(300, 784, generator=gen) @ torch.randn(784, 784, generator=gen) / 30
    x = x - x.mean(dim=0)
    optimum = q1.pca_optimum(x)
    model = q1.at_optimum(x, seed=0)
    assert q1.full_loss(model, x) == pytest.approx(optimum, rel=1e-4)
    assert float((q1.flat_grad(model, x) ** 2).sum()) < 1e-10
    for seed in range(3):  # no linear autoencoder does better
        assert q1.full_loss(q1.linear_autoencoder(seed), x) > optimum


def test_q1_gradient_noise_against_every_batch_enumerated():
    import itertools
    from analyses import q1_gd_variants as q1
    x = torch.randn(6, 784, generator=torch.Generator().manual_seed(1))
    model = q1.linear_autoencoder(0)
    rows = {r["batch_size"]: r for r in q1.gradient_noise(model, x, repeats=400, seed=0)}
    full = q1.flat_grad(model, x)
    for b in (1, 4):
        every = [float(((q1.flat_grad(model, x[list(idx)]) - full) ** 2).sum())
                 for idx in itertools.combinations(range(6), b)]
        assert rows[b]["exact_noise"] == pytest.approx(sum(every) / len(every), rel=1e-3)
        assert rows[b]["measured_noise"] == pytest.approx(rows[b]["exact_noise"], rel=0.2)
    assert rows[6]["exact_noise"] == 0 and rows[6]["measured_noise"] < 1e-10


def test_revival_analysis_end_to_end(fake_data, tmp_path):
    assert analyses_main("revival", "--data-dir", fake_data, "--skip-md5", "--out-dir", tmp_path,
                         "--epochs", "2", "--log-every", "1", "--probe", "100",
                         "--scan-seeds", "3") == 0
    summary = json.loads((tmp_path / "revival" / "revival.json").read_text())
    assert 0 in summary["dead_seeds"] and 1 not in summary["dead_seeds"]  # as on the real data
    variants = summary["variants"]
    assert [v["weight_decay"] for v in variants.values()] == [1e-5, 0.0, 1e-5]
    assert all(v["dead_at_start"] for v in variants.values())  # all start from seed 0
    with open(tmp_path / "revival" / "revival.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 3 * (1 + 2 * summary["steps_per_epoch"])  # every step and step 0
    for name, v in variants.items():
        alive = [int(r["step"]) for r in rows
                 if r["variant"] == name and int(r["live_decoder_units"]) > 0]
        assert v["first_step_with_a_live_decoder_unit"] == (alive[0] if alive else None)
    losses = {name: [r["batch_loss"] for r in rows if r["variant"] == name] for name in variants}
    assert len(set(map(tuple, losses.values()))) == 3  # three different trainings
    assert (tmp_path / "revival" / "revival.png").read_bytes()[:4] == b"\x89PNG"


def test_seed_study_end_to_end_reuses_finished_runs(fake_data, tmp_path, runs_from_store):
    from analyses import seeds
    assert seeds.summary_of([1.0, 2.0, 3.0, None]) == {"mean": 2.0, "sd": 1.0, "min": 1.0,
                                                       "max": 3.0, "n": 3}
    common = ["seeds", "--data-dir", fake_data, "--skip-md5", "--out-dir", tmp_path,
              "--seeds", "1", "2", "--epochs", "1", "--tsne-samples", "30"]
    assert analyses_main(*common) == 0
    result = json.loads((tmp_path / "seeds" / "seeds.json").read_text())
    models = {r["model"] for r in result["rows"]}
    assert models == {"plain", "denoise", "PCA-8", "plain (noisy input)",
                      "denoise (noisy input)", "PCA-8 (noisy input)"}
    plain = [r for r in result["rows"] if r["model"] == "plain"]
    assert [r["seed"] for r in plain] == [1, 2]
    assert result["summary"]["plain"]["test_mse"]["mean"] == pytest.approx(
        np.mean([r["test_mse"] for r in plain]))
    for i, seed in enumerate((1, 2)):  # the run's own final test loss, from its weights
        logged = json.loads((tmp_path / f"seed{seed}" / "plain" / "metrics.json").read_text())
        assert plain[i]["test_mse"] == pytest.approx(logged["final_test_loss"], rel=1e-5)
    noisy = [r for r in result["rows"] if r["model"] == "denoise (noisy input)"]
    for i, seed in enumerate((1, 2)):  # the denoiser on the fixed noisy test set, as logged
        logged = json.loads((tmp_path / f"seed{seed}" / "denoise" / "metrics.json").read_text())
        assert noisy[i]["test_mse"] == pytest.approx(logged["final_test_loss"], rel=1e-5)
    # PCA-8 on the noisy copy, recomputed: it depends on the noise draw (a barely trained
    # network's output may not), so it pins the documented noise seed.
    x_train, _ = fm.load_split(fake_data, "train", verify_md5=False)
    x_test, _ = fm.load_split(fake_data, "test", verify_md5=False)
    noisy_test = add_white_noise(x_test, 0.5, torch.Generator().manual_seed(TEST_NOISE_SEED))
    mean, components = measures.pca_fit(x_train.numpy(), 8)
    expected = measures.mse(measures.pca_reconstruct(noisy_test.numpy(), mean, components),
                           x_test.numpy())
    pca_noisy = [r for r in result["rows"] if r["model"] == "PCA-8 (noisy input)"]
    assert all(r["test_mse"] == pytest.approx(expected, rel=1e-6) for r in pca_noisy)
    assert len(result["cka"]["plain vs plain, two seeds"]) == 1
    assert all(0 < v < 1 - 1e-9 for v in result["cka"]["plain vs denoise, same seed"])
    # Linear CKA of seed 1's AE and DAE codes of the clean test images, worked out here.
    with torch.no_grad():
        h = [runs.load_run(tmp_path, f"seed1/{mode}")["model"].f(x_test).double()
             for mode in ("plain", "denoise")]
    a, b = (x - x.mean(dim=0) for x in h)
    cka = float((b.T @ a).norm() ** 2 / ((a.T @ a).norm() * (b.T @ b).norm()))
    assert result["cka"]["plain vs denoise, same seed"][0] == pytest.approx(cka, rel=1e-5)
    assert [r["class"] for r in result["per_class"][:10]] == list(ex09.CLASS_NAMES)
    for name in ("seeds.png", "tsne_denoise_noisy.png"):
        assert (tmp_path / "seeds" / name).read_bytes()[:4] == b"\x89PNG"
    stamp = (tmp_path / "seed1" / "denoise" / "model.pt").stat().st_mtime_ns
    assert analyses_main(*common) == 0  # nothing to train the second time
    assert (tmp_path / "seed1" / "denoise" / "model.pt").stat().st_mtime_ns == stamp


def test_widened_network_keeps_the_sheets_shape_at_width_8():
    sizes = [m.out_features for m in variants.widened_autoencoder(32).modules()
             if isinstance(m, torch.nn.Linear)]
    assert sizes == [128, 64, 32, 32, 32, 32, 32, 64, 128, 784]
    sheet = [m.out_features for m in variants.widened_autoencoder(8).modules()
             if isinstance(m, torch.nn.Linear)]
    assert sheet == [m.out_features for m in ex09.AutoEncoder().modules()
                     if isinstance(m, torch.nn.Linear)]


def ensure_args(out_dir, data):
    from types import SimpleNamespace
    return SimpleNamespace(out_dir=out_dir, data_dir=data, mirror=fm.DEFAULT_MIRROR,
                           skip_md5=True, train_limit=None, test_limit=None)


def test_ensure_runs_reuses_only_a_run_with_the_same_settings_and_never_overwrites_another(
        fake_data, tmp_path):
    args, quick = ensure_args(tmp_path, fake_data), {"epochs": 1, "tsne_samples": 0}
    runs.ensure_runs(args, ["seed3/plain"], 1, quick)
    metrics = tmp_path / "seed3" / "plain" / "metrics.json"
    assert json.loads(metrics.read_text())["config"]["seed"] == 3
    assert (tmp_path / "logs" / "seed3_plain.log").read_text().count("epoch") >= 2
    stamp = metrics.stat().st_mtime_ns
    assert runs.ensure_runs(args, ["seed3/plain"], 1, quick) < 1  # reused, nothing trained
    for other in ({"epochs": 2, "tsne_samples": 0}, {**quick, "lr": 0.01}):
        with pytest.raises(ex09.UsageError, match="other settings") as refused:
            runs.ensure_runs(args, ["seed3/plain"], 1, other)
        assert "(not 2)" in str(refused.value) or "lr 0.001 (not 0.01)" in str(refused.value)
    args.train_limit = 100  # a data setting counts too
    with pytest.raises(ex09.UsageError, match="train_limit None"):
        runs.ensure_runs(args, ["seed3/plain"], 1, quick)
    assert metrics.stat().st_mtime_ns == stamp  # never overwritten
    args.train_limit = None
    metrics.write_text("{damaged")  # a damaged run is not a result: it is made again
    runs.ensure_runs(args, ["seed3/plain"], 1, quick)
    assert json.loads(metrics.read_text())["config"]["epochs"] == 1


def test_ensure_runs_stops_the_other_runs_when_one_fails(fake_data, tmp_path):
    args = ensure_args(tmp_path, fake_data)
    (tmp_path / "seed5").mkdir()
    (tmp_path / "seed5" / "plain").write_text("a file where the run's folder goes")
    with pytest.raises(ex09.UsageError, match="seed5/plain failed") as failed:
        runs.ensure_runs(args, ["seed4/plain", "seed5/plain"], 2,
                            {"epochs": 10000, "tsne_samples": 0})
    assert "is a file" in str(failed.value)
    log = tmp_path / "logs" / "seed4_plain.log"
    size = log.stat().st_size
    time.sleep(3)  # a run left going would go on printing its epochs
    assert log.stat().st_size == size
    assert not list((tmp_path / "seed4").glob("*"))  # stopped, cleaned up, published nothing


def test_beta1_trains_as_ex09_and_compares_seed_by_seed(fake_data, tmp_path, capsys):
    """analyses/beta1.py runs ex09's own training loop: with the sheet's Adam (beta1 0.9,
    weight decay 1e-5) it gives ex09.py's final test MSE exactly; its record pairs each seed
    with that seed's run, and a run made with other settings is refused."""
    from analyses import beta1
    from analyses.__main__ import build_parser
    ex09.main(["--mode", "plain", "--seed", "1", "--tsne-samples", "30", "--skip-md5",
               "--data-dir", str(fake_data), "--out-dir", str(tmp_path / "seed1")])
    sheet = json.loads((tmp_path / "seed1" / "plain" / "metrics.json").read_text())
    args = build_parser().parse_args(["beta1", "--data-dir", str(fake_data), "--skip-md5"])
    same = beta1.train({"args": args, "seed": 1, "beta1": 0.9, "weight_decay": 1e-5})
    assert same["test_loss"] == sheet["final_test_loss"]
    assert analyses_main("beta1", "--seeds", "1", "--jobs", "1", "--data-dir", fake_data,
                         "--skip-md5", "--out-dir", tmp_path) == 0
    record = json.loads((tmp_path / "beta1" / "beta1.json").read_text())
    seed = record["per_seed"]["1"]
    assert seed["sheet_test_loss"] == sheet["final_test_loss"]
    assert seed["beta1_test_loss"] != sheet["final_test_loss"]  # another optimiser
    assert record["difference"]["mean"] == pytest.approx(
        seed["beta1_test_loss"] - seed["sheet_test_loss"])
    ex09.main(["--mode", "plain", "--seed", "1", "--epochs", "2", "--tsne-samples", "30",
               "--skip-md5", "--data-dir", str(fake_data), "--out-dir", str(tmp_path / "seed1")])
    assert analyses_main("beta1", "--seeds", "1", "--data-dir", fake_data, "--skip-md5",
                         "--out-dir", tmp_path) == 1
    assert "other epochs than the sheet's" in capsys.readouterr().err
