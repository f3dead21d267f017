"""Failures a user can cause or meet: each ends in one clear message and a non-zero exit,
publishes nothing, and leaves earlier results as they were."""

import errno
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

import ex09
import fashion_mnist as fm
import publishing
from conftest import ROOT, TINY_RUN, make_fake_dataset


def earlier_results(out_dir, mode="plain"):
    folder = out_dir / mode
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text('{"earlier": true}')
    return folder


def assert_untouched(folder):
    assert sorted(p.name for p in folder.iterdir()) == ["metrics.json"]
    assert json.loads((folder / "metrics.json").read_text()) == {"earlier": True}
    assert sorted(p.name for p in folder.parent.iterdir()) == [folder.name]  # no stage left


def run_main(capsys, *args):
    code = ex09.main([*map(str, args)])
    return code, capsys.readouterr()


def test_two_runs_into_one_folder_at_once_publish_one_complete_run(tmp_path):
    data = make_fake_dataset(tmp_path / "data", n_train=2000, n_test=200)
    out = tmp_path / "out"
    command = [sys.executable, str(ROOT / "ex09.py"), "--data-dir", str(data), "--out-dir",
               str(out), *TINY_RUN, "--epochs", "6", "--tsne-samples", "40"]
    # One thread each: two torch processes with two threads each thrash this 2-core machine.
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    runs = [subprocess.Popen(command + ["--seed", str(seed)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env) for seed in (1, 2)]
    try:
        results = [(run.wait(timeout=300), run.stderr.read()) for run in runs]
    finally:
        for run in runs:
            run.kill()
    for code, err in results:
        assert code == 0 and "Traceback" not in err, err
    assert sorted(p.name for p in out.iterdir()) == ["plain"]  # no stage or old copy left
    folder = out / "plain"
    # Every file is from the same run: the weights give the logged loss and the saved codes.
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["config"]["seed"] in (1, 2)
    model = ex09.AutoEncoder()
    model.load_state_dict(torch.load(folder / "model.pt"))
    x_test, _ = fm.load_split(data, "test", verify_md5=False)
    assert ex09.evaluate(model, x_test, x_test) == pytest.approx(metrics["final_test_loss"],
                                                                 rel=1e-6)
    rows = (folder / "losses.csv").read_text().splitlines()
    assert float(rows[-1].split(",")[2]) == metrics["final_test_loss"]
    codes = np.load(folder / "tsne_codes.npz")
    assert np.allclose(codes["codes"], ex09.encode(model, x_test[codes["indices"]]).numpy())
    assert len(list(folder.glob("recon_epoch*.png"))) == 4  # epochs 0, 2, 4, 6

def test_a_diverging_run_stops_clearly_and_publishes_nothing(fake_data, tmp_path, capsys):
    earlier = earlier_results(tmp_path)
    code, out = run_main(capsys, "--data-dir", fake_data, "--out-dir", tmp_path, *TINY_RUN,
                         "--lr", "1e30")
    assert code == 1
    assert "training diverged" in out.err and "nan" in out.err and "--lr" in out.err
    assert_untouched(earlier)


def test_tsne_sample_the_test_subset_cannot_give_is_refused_before_training(real_data, tmp_path,
                                                                              capsys):
    # The first 500 test images hold fewer than 50 of some class.
    code, out = run_main(capsys, "--data-dir", real_data, "--out-dir", tmp_path, "--test-limit",
                         "500", "--train-limit", "2000", "--epochs", "3")
    assert code == 1 and "t-SNE needs 50 test images of class" in out.err
    assert "epoch   0/" not in out.out  # refused before any training or testing
    assert list(tmp_path.iterdir()) == []


def test_a_file_where_the_run_folder_goes_is_refused_and_kept(fake_data, tmp_path, capsys):
    blocker = tmp_path / "plain"
    blocker.write_text("my notes")
    code, out = run_main(capsys, "--data-dir", fake_data, "--out-dir", tmp_path, *TINY_RUN)
    assert code == 1 and "is a file" in out.err and "epoch   1/" not in out.out
    assert blocker.read_text() == "my notes"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain"]  # nothing renamed


def test_a_full_disk_while_saving_is_a_message(fake_data, tmp_path, capsys, monkeypatch):
    earlier = earlier_results(tmp_path)

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "model.pt")

    monkeypatch.setattr(torch, "save", full_disk)
    code, out = run_main(capsys, "--data-dir", fake_data, "--out-dir", tmp_path, *TINY_RUN)
    assert code == 1
    assert "No space left on device" in out.err and "nothing was published" in out.err
    assert_untouched(earlier)


def test_tilde_in_paths_means_the_home_folder(fake_data, tmp_path, monkeypatch, capsys):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USERPROFILE", str(home))  # what Windows reads
    monkeypatch.chdir(tmp_path)
    code, out = run_main(capsys, "--data-dir", fake_data, "--out-dir", "~/results", *TINY_RUN,
                         "--epochs", "1", "--tsne-samples", "0")
    assert code == 0, out.err
    assert (home / "results" / "plain" / "metrics.json").exists()
    assert not (tmp_path / "~").exists()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM cannot be caught on Windows")
def test_sigterm_mid_run_cleans_up_and_leaves_earlier_results(tmp_path):
    """A run stopped by SIGTERM (a scheduler, `kill`) removes its private folder and says so."""
    import signal
    import time
    data = make_fake_dataset(tmp_path / "data", n_train=2000, n_test=200)
    out = tmp_path / "out"
    earlier = earlier_results(out)
    run = subprocess.Popen([sys.executable, str(ROOT / "ex09.py"), "--data-dir", str(data),
                            "--out-dir", str(out), *TINY_RUN, "--epochs", "1000"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        deadline = time.monotonic() + 60
        while not list(out.glob(".plain.partial-*/recon_epoch000.png")):  # training has begun
            assert run.poll() is None and time.monotonic() < deadline, run.stderr.read()
            time.sleep(0.1)
        run.send_signal(signal.SIGTERM)
        code, err = run.wait(timeout=60), run.stderr.read()
    finally:
        run.kill()
    assert code != 0 and "interrupted" in err and "Traceback" not in err, err
    assert_untouched(earlier)  # and no .partial folder left beside it


def test_a_publish_that_cannot_move_the_new_run_in_keeps_the_earlier_results(tmp_path,
                                                                               monkeypatch):
    earlier = earlier_results(tmp_path)
    stage = tmp_path / ".plain.partial-x"
    stage.mkdir()
    (stage / "metrics.json").write_text('{"new": true}')
    real_replace = os.replace

    def locked(source, target):  # the new run cannot be moved in (a file held open, say)
        if source == stage:
            raise PermissionError(13, "in use", str(source))
        real_replace(source, target)

    monkeypatch.setattr(publishing.os, "replace", locked)
    monkeypatch.setattr(publishing.time, "sleep", lambda s: None)
    with pytest.raises(publishing.PublishError, match="could not publish"):
        publishing.publish(stage, earlier)
    shutil.rmtree(stage)
    assert_untouched(earlier)
