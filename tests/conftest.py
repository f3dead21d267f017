"""Shared helpers: tiny datasets in the real IDX format, and where the real data lives."""

import gzip
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import fashion_mnist as fm  # noqa: E402

# The tests' tensors are tiny: threads only add overhead, and under `pytest -n 2` (README) two
# workers share this 2-core machine's cores; subprocesses the tests start inherit it too.
torch.set_num_threads(1)
os.environ["OMP_NUM_THREADS"] = "1"


def write_idx(path, array, magic):
    """Write `array` (uint8) as a gzipped IDX file with the given magic number."""
    array = np.asarray(array, dtype=np.uint8)
    header = struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as handle:
        handle.write(header + array.tobytes())


def make_fake_dataset(data_dir, n_train=300, n_test=120, seed=0):
    """A small Fashion-MNIST look-alike with every class present, in the official file names."""
    rng = np.random.default_rng(seed)
    raw = fm.raw_dir(data_dir)
    raw.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("test", n_test)):
        labels = np.arange(n) % 10
        # Class-dependent brightness so that there is something to learn.
        images = rng.integers(0, 60, size=(n, 28, 28)) + (labels * 19)[:, None, None]
        write_idx(raw / fm.FILES[split]["images"][0], images, fm.IDX_IMAGES_MAGIC)
        write_idx(raw / fm.FILES[split]["labels"][0], labels, fm.IDX_LABELS_MAGIC)
    return data_dir


@pytest.fixture(scope="session")
def fake_data(tmp_path_factory):
    return make_fake_dataset(tmp_path_factory.mktemp("fake"))


def real_data_dir():
    """The real Fashion-MNIST files: $FMNIST_DATA_DIR, ./data, or ../shared/data."""
    candidates = [os.environ.get("FMNIST_DATA_DIR"), ROOT / "data", ROOT.parent / "shared" / "data"]
    for candidate in candidates:
        if candidate and (fm.raw_dir(candidate) / fm.FILES["train"]["images"][0]).exists():
            return Path(candidate)
    return None


@pytest.fixture(scope="session")
def real_data():
    found = real_data_dir()
    if found is None:
        pytest.skip("real Fashion-MNIST files not found (set FMNIST_DATA_DIR)")
    return found


def run_script(*args, cwd=ROOT, script=ROOT / "ex09.py", timeout=600):
    """Run ex09.py as a user would; returns the CompletedProcess."""
    return subprocess.run([sys.executable, str(script), *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def run_analysis(*args, cwd=ROOT, timeout=600):
    """Run `python -m analyses ...` from the project folder, as the README says."""
    return subprocess.run([sys.executable, "-m", "analyses", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


# A quick run of ex09.py on the tiny data (add --data-dir and --out-dir).
TINY_RUN = ["--epochs", "3", "--eval-every", "2", "--tsne-samples", "30", "--batch-size", "32",
            "--skip-md5"]
LIVE_SEED = 1  # seed 0's network starts dead (its output ignores the input); seed 1's does not


def assert_alive(model, x):
    """The output depends on the input: without this, a test of 'the output is the model's'
    would pass on a network that outputs one constant image."""
    with torch.no_grad():
        out = model(x)
    assert float((out - out.mean(dim=0)).abs().max()) > 1e-4, "the network's output is constant"


@pytest.fixture(scope="session")
def run_store(tmp_path_factory):
    """Tiny runs trained once per test session (per pytest-xdist worker), in this process: a
    run's start-up in a fresh Python (about 3 s) is what made the end-to-end tests of the
    analyses slow. {(data, options, name): folder}."""
    return {"home": tmp_path_factory.mktemp("run-store"), "made": {}}


@pytest.fixture
def runs_from_store(run_store, monkeypatch):
    """runs.ensure_runs with every missing run copied in from the session's store (made
    there by the very command ensure_runs would start, in this process), then the real
    ensure_runs: it finds them finished, checks their settings, and trains nothing. Its own
    processes are tested in test_compare.py."""
    import shutil
    from types import SimpleNamespace

    import ex09
    from analyses import runs
    from analyses.__main__ import main as analyses_main
    real = runs.ensure_runs

    def ensure_runs(args, names, jobs, options):
        for name in dict.fromkeys(names):
            if (args.out_dir / name / "metrics.json").exists():
                continue
            key = (str(args.data_dir), args.skip_md5, args.train_limit, args.test_limit,
                   tuple(sorted(options.items())), name)
            if key not in run_store["made"]:
                home = run_store["home"] / str(len(run_store["made"]))
                store_args = SimpleNamespace(**{**vars(args), "out_dir": home})
                command = runs.run_arguments(store_args, name, options)
                code = (ex09.main(command[1:]) if command[0] == "ex09.py" else
                        analyses_main(command[2:]))
                assert code == 0, command
                run_store["made"][key] = home / name
            shutil.copytree(run_store["made"][key], args.out_dir / name)
        return real(args, names, jobs, options)

    monkeypatch.setattr(runs, "ensure_runs", ensure_runs)
    return run_store
