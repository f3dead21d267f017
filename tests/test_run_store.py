"""The run store (analyses/runs.py): a run is read only when it is the run its folder stands
for (cause A of issue 28), when its content is sound (cause B), and as one state of its folder
(cause C); every refusal is one line, exit 1, nothing published."""

import json
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

import ex09
from analyses import runs, variants
from conftest import LIVE_SEED, ROOT

TINY = ["--skip-md5", "--epochs", "2", "--tsne-samples", "30"]


@pytest.fixture(scope="module")
def store(fake_data, tmp_path_factory):
    """Runs on the tiny data: plain and denoise at LIVE_SEED, denoise at seed 2, a plain run
    of the linear-code variant and a denoise run of the widened one."""
    out = tmp_path_factory.mktemp("store")
    common = ["--data-dir", str(fake_data), *TINY]
    for mode in ("plain", "denoise"):
        assert ex09.main([*common, "--out-dir", str(out), "--mode", mode,
                          "--seed", str(LIVE_SEED)]) == 0
    assert ex09.main([*common, "--out-dir", str(out / "seed2"), "--mode", "denoise",
                      "--seed", "2"]) == 0
    from analyses.__main__ import main
    assert main(["variant", "linear-code", *common, "--out-dir", str(out), "--mode", "plain",
                 "--seed", str(LIVE_SEED)]) == 0
    assert main(["variant", "width16", *common, "--out-dir", str(out), "--mode", "denoise",
                 "--seed", str(LIVE_SEED)]) == 0
    return out


def pair(store, tmp_path, plain="plain", denoise="denoise"):
    """A fresh out-dir holding `plain` as plain/ and `denoise` as denoise/."""
    for source, target in ((plain, "plain"), (denoise, "denoise")):
        shutil.copytree(store / source, tmp_path / target)
    return tmp_path


def refused(out_dir, fake_data, capsys, *fragments):
    from analyses.__main__ import main
    assert main(["compare", "--data-dir", str(fake_data), "--out-dir", str(out_dir),
                 "--skip-md5"]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) <= 3, err  # the problem, and the command that fixes it
    for fragment in fragments:
        assert fragment in err, err
    assert not (out_dir / "compare").exists()  # nothing published
    return err


# ----------------------------------------------------------------------------- cause A

def test_a_plain_run_copied_into_denoise_is_refused(store, fake_data, tmp_path, capsys):
    out = pair(store, tmp_path, denoise="plain")
    refused(out, fake_data, capsys, str(out / "denoise"), "mode 'plain'",
            "the folder stands for 'denoise'")


def test_a_linear_code_run_in_plain_is_refused(store, fake_data, tmp_path, capsys):
    out = pair(store, tmp_path, plain=f"variants/linear-code/seed{LIVE_SEED}/plain")
    refused(out, fake_data, capsys, "variant 'linear-code'", "stands for 'sheet'")


def test_a_denoise_run_in_a_seed_folder_of_plain_is_refused(store, tmp_path):
    shutil.copytree(store / "seed2" / "denoise", tmp_path / "seed2" / "plain")
    with pytest.raises(ex09.UsageError, match="mode 'denoise'"):
        runs.load_run(tmp_path, "seed2/plain")
    shutil.copytree(store / "seed2" / "denoise", tmp_path / "seed3" / "denoise")
    with pytest.raises(ex09.UsageError, match=r"seed 2 \(the folder stands for 3\)"):
        runs.load_run(tmp_path, "seed3/denoise")


def test_a_network_of_other_layers_is_refused_even_with_the_right_settings(store, tmp_path):
    """model.pt of the widened network, its metrics.json the sheet's: the layer shapes show."""
    out = pair(store, tmp_path)
    shutil.copy(store / "variants" / "width16" / f"seed{LIVE_SEED}" / "denoise" / "model.pt",
                out / "denoise" / "model.pt")
    with pytest.raises(ex09.UsageError, match="are not those of the sheet network"):
        runs.load_run(out, "denoise")


def test_a_variant_folder_holds_its_own_noise_level(store, tmp_path):
    name = variants.run_folder("width16", "denoise", LIVE_SEED, 0.2)
    shutil.copytree(store / "variants" / "width16" / f"seed{LIVE_SEED}" / "denoise",
                    tmp_path / name)
    with pytest.raises(ex09.UsageError, match=r"noise_std 0.5 \(the folder stands for 0.2\)"):
        runs.load_run(tmp_path, name)


def test_every_committed_run_is_the_run_its_folder_stands_for():
    names = [str(p.parent.relative_to(ROOT / "figures"))
             for p in (ROOT / "figures").rglob("metrics.json")]
    if not names:
        pytest.skip("no committed runs")
    for name in names:
        runs.load_run(ROOT / "figures", name)


# ----------------------------------------------------------------------------- cause B

def test_b_one_nan_bias_is_refused_not_published_as_nan(store, fake_data, tmp_path, capsys):
    out = pair(store, tmp_path)
    state = torch.load(out / "denoise" / "model.pt", weights_only=True)
    bias = next(k for k in state if k.endswith("bias"))
    state[bias][0] = float("nan")
    torch.save(state, out / "denoise" / "model.pt")
    refused(out, fake_data, capsys, "model.pt", "NaN or infinite")


def test_b_a_cut_losses_file_is_refused(store, fake_data, tmp_path, capsys):
    out = pair(store, tmp_path)
    lines = (out / "plain" / "losses.csv").read_text().splitlines(keepends=True)
    (out / "plain" / "losses.csv").write_text("".join(lines[:-1]))  # epoch 2 of 2 cut off
    refused(out, fake_data, capsys, "losses.csv", "epochs 0 to 1", "says 2 epochs")


@pytest.mark.parametrize("indices, fragment", [
    (lambda i: np.r_[-5, i[1:]], "distinct test images"),  # numpy would wrap it silently
    (lambda i: np.r_[10**6, i[1:]], "distinct test images"),
    (lambda i: np.zeros_like(i), "distinct test images"),
    (lambda i: np.r_[120, i[1:]], "distinct test images"),  # one past the fake test set's last
])
def test_b_tsne_indices_outside_the_test_set_are_refused(store, fake_data, tmp_path, capsys,
                                                        indices, fragment):
    out = pair(store, tmp_path)
    with np.load(out / "plain" / "tsne_codes.npz") as saved:
        arrays = dict(saved)
    arrays["indices"] = indices(arrays["indices"])
    np.savez(out / "plain" / "tsne_codes.npz", **arrays)
    refused(out, fake_data, capsys, "tsne_codes.npz", fragment)


@pytest.mark.parametrize("mode", ["plain", "denoise"])
def test_b_a_negative_noise_level_is_refused_in_either_mode(store, fake_data, tmp_path, capsys,
                                                            mode):
    """No noise level is below 0; a plain run's (unused there) is not read as its identity."""
    out = pair(store, tmp_path)
    path = out / mode / "metrics.json"
    metrics = json.loads(path.read_text())
    metrics["config"]["noise_std"] = -0.5
    path.write_text(json.dumps(metrics))
    refused(out, fake_data, capsys, "metrics.json", "noise_std is -0.5")


# ----------------------------------------------------------------------------- cause C

SWAPPER = """
import shutil, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import publishing
sources, final, stop = [Path(p) for p in sys.argv[2:4]], Path(sys.argv[4]), Path(sys.argv[5])
i = 0
while not stop.exists():
    stage = publishing.make_stage(final)
    shutil.copytree(sources[i % 2], stage, dirs_exist_ok=True)
    publishing.publish(stage, final)
    i += 1
    time.sleep(0.005)
"""


def test_c_a_run_republished_in_a_loop_is_read_as_one_run_never_two(store, tmp_path):
    """A real publisher swaps seed-1 and seed-2 denoise runs into the folder as fast as it can
    while the store reads it: every run read has the weights of the seed its metrics name."""
    weights = {}
    for seed, source in ((LIVE_SEED, store / "denoise"), (2, store / "seed2" / "denoise")):
        weights[seed] = torch.load(source / "model.pt", weights_only=True)
    final, stop = tmp_path / "denoise", tmp_path / "stop"
    shutil.copytree(store / "denoise", final)
    swapper = subprocess.Popen([sys.executable, "-c", SWAPPER, str(ROOT), str(store / "denoise"),
                                str(store / "seed2" / "denoise"), str(final), str(stop)])
    read, refusals, deadline = 0, 0, time.monotonic() + 15
    try:
        while read < 150 and time.monotonic() < deadline:
            try:
                run = runs.load_run(tmp_path, "denoise")
            except ex09.UsageError as err:
                assert "changed while it was read" in str(err) or "cannot be read" in str(err)
                refusals += 1
                continue
            seed = run["metrics"]["config"]["seed"]
            for key, value in run["model"].state_dict().items():
                assert torch.equal(value, weights[seed][key]), f"seed {seed}'s metrics, " \
                                                               f"another run's {key}"
            read += 1
    finally:
        stop.touch()
        swapper.wait(timeout=30)
    assert read >= 10, (read, refusals)
