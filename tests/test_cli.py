"""The script as a user runs it: option checks, both modes end to end, determinism,
interruption, and a short run on the real data."""

import csv
import json
import os

import numpy as np
import pytest
import torch

import ex09
from conftest import run_script

TINY = ["--epochs", "3", "--eval-every", "2", "--tsne-samples", "30", "--batch-size", "32",
        "--skip-md5"]


@pytest.mark.parametrize("option, value", [
    ("--epochs", "0"), ("--epochs", "2.5"), ("--batch-size", "0"), ("--noise-std", "-0.1"),
    ("--noise-std", "nan"), ("--lr", "0"), ("--lr", "inf"), ("--lr", "nan"),
    ("--weight-decay", "inf"), ("--weight-decay", "-1e-5"), ("--eval-every", "0"),
    ("--seed", "-1"), ("--seed", str(2**32)), ("--tsne-samples", "-1"), ("--mode", "fancy"),
    ("--mode", "compare"),  # moved to python -m analyses compare
])
def test_bad_option_values_are_refused_by_the_parser(option, value, fake_data, tmp_path, capsys):
    earlier = tmp_path / "plain"
    earlier.mkdir()
    (earlier / "metrics.json").write_text("earlier")
    with pytest.raises(SystemExit) as exit:
        ex09.main([f"{option}={value}", "--out-dir", str(tmp_path), "--data-dir", str(fake_data),
                   *TINY])
    err = capsys.readouterr().err
    assert exit.value.code == 2
    assert f"argument {option}" in err and value in err
    assert [p.name for p in tmp_path.iterdir()] == ["plain"]  # no stage, nothing published
    assert (earlier / "metrics.json").read_text() == "earlier"


def test_largest_seed_is_accepted(fake_data, tmp_path):
    assert ex09.main(["--seed", str(ex09.MAX_SEED), "--out-dir", str(tmp_path), "--data-dir",
                      str(fake_data), *TINY, "--epochs", "1", "--tsne-samples", "0"]) == 0


def test_too_many_tsne_samples_is_refused_before_any_work(tmp_path, capsys):
    code = ex09.main(["--tsne-samples", "10001", "--out-dir", str(tmp_path), "--data-dir",
                      str(tmp_path / "nowhere"), "--mirror", "http://127.0.0.1:9/"])
    out = capsys.readouterr()
    assert code == 1
    assert "the test set's size (10000), got 10001" in out.err
    assert "downloading" not in out.out  # refused before touching the data


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="needs a non-root POSIX user for a read-only folder")
def test_unwritable_out_dir_is_refused(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    result = run_script("--out-dir", locked / "out")
    assert result.returncode == 1 and "cannot write to --out-dir" in result.stderr


def test_out_dir_that_is_a_file_is_refused(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert ex09.main(["--out-dir", str(blocker)]) == 1
    assert "cannot write to --out-dir" in capsys.readouterr().err
    assert blocker.read_text() == "x"


def test_help_explains_every_option():
    result = run_script("--help")
    assert result.returncode == 0
    for action in ex09.build_parser()._actions:
        for flag in action.option_strings:
            assert flag in result.stdout
        assert action.help, f"{action.dest} has no help text"


def read_losses(folder):
    with open(folder / "losses.csv") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("mode", ["plain", "denoise"])
def test_end_to_end_tiny_run_writes_every_artefact(mode, fake_data, tmp_path):
    result = run_script("--mode", mode, "--data-dir", fake_data, "--out-dir", tmp_path, *TINY)
    assert result.returncode == 0, result.stderr
    out = tmp_path / mode
    rows = read_losses(out)
    assert [r["epoch"] for r in rows] == ["0", "1", "2", "3"]
    assert [bool(r["test_loss"]) for r in rows] == [True, False, True, True]  # 0, every 2, last
    assert all(float(r["train_loss"]) > 0 for r in rows[1:])
    for epoch in (0, 2, 3):
        assert (out / f"recon_epoch{epoch:03d}.png").read_bytes()[:4] == b"\x89PNG"
    for name in ("loss_curve.png", "recon_evolution.png", "tsne.png"):
        assert (out / name).read_bytes()[:4] == b"\x89PNG"
    codes = np.load(out / "tsne_codes.npz")
    assert codes["codes"].shape == (30, 8) and codes["coords"].shape == (30, 2)
    assert np.bincount(codes["labels"]).tolist() == [3] * 10  # stratified by class
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["mode"] == mode and metrics["config"]["epochs"] == 3
    assert metrics["final_test_loss"] == pytest.approx(float(rows[-1]["test_loss"]))
    assert {"torch", "numpy", "scikit-learn"} <= set(metrics["versions"])
    state = torch.load(out / "model.pt")
    model = ex09.AutoEncoder()
    model.load_state_dict(state)
    assert not (tmp_path / f"{mode}.partial").exists()
    other = "denoise" if mode == "plain" else "plain"
    assert not (tmp_path / other).exists()  # the modes never share a folder


def test_same_seed_gives_identical_losses_and_other_seed_does_not(fake_data, tmp_path):
    losses = []
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        assert ex09.main(["--mode", "denoise", "--data-dir", str(fake_data), "--out-dir",
                          str(tmp_path / name), "--seed", str(seed), *TINY,
                          "--tsne-samples", "0"]) == 0
        losses.append([(r["train_loss"], r["test_loss"])
                       for r in read_losses(tmp_path / name / "denoise")])
    assert losses[0] == losses[1]
    assert losses[0] != losses[2]


def test_interrupted_run_leaves_earlier_results_untouched(fake_data, tmp_path, monkeypatch, capsys):
    final = tmp_path / "plain"
    final.mkdir()
    (final / "metrics.json").write_text('{"earlier": true}')

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(ex09, "train_epoch", interrupted)
    code = ex09.main(["--data-dir", str(fake_data), "--out-dir", str(tmp_path), *TINY])
    assert code == 130
    assert "interrupted" in capsys.readouterr().err
    assert sorted(p.name for p in final.iterdir()) == ["metrics.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain"]  # the private stage is gone
    assert json.loads((final / "metrics.json").read_text()) == {"earlier": True}


def test_short_run_on_real_data_lowers_the_loss(real_data, tmp_path):
    result = run_script("--data-dir", real_data, "--out-dir", tmp_path, "--epochs", "2",
                        "--eval-every", "1", "--train-limit", "10000", "--test-limit", "2000",
                        "--tsne-samples", "100")
    assert result.returncode == 0, result.stderr
    test_losses = [float(r["test_loss"]) for r in read_losses(tmp_path / "plain")]
    assert test_losses[2] < test_losses[1] < 0.8 * test_losses[0]
