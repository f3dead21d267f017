"""Shared helpers: tiny datasets in the real IDX format, and where the real data lives."""

import gzip
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import ex09  # noqa: E402


def write_idx(path, array, magic):
    """Write `array` (uint8) as a gzipped IDX file with the given magic number."""
    array = np.asarray(array, dtype=np.uint8)
    header = struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as handle:
        handle.write(header + array.tobytes())


def make_fake_dataset(data_dir, n_train=300, n_test=120, seed=0):
    """A small Fashion-MNIST look-alike with every class present, in the official file names."""
    rng = np.random.default_rng(seed)
    raw = ex09.raw_dir(data_dir)
    raw.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("test", n_test)):
        labels = np.arange(n) % 10
        # Class-dependent brightness so that there is something to learn.
        images = rng.integers(0, 60, size=(n, 28, 28)) + (labels * 19)[:, None, None]
        write_idx(raw / ex09.FILES[split]["images"][0], images, ex09.IDX_IMAGES_MAGIC)
        write_idx(raw / ex09.FILES[split]["labels"][0], labels, ex09.IDX_LABELS_MAGIC)
    return data_dir


@pytest.fixture(scope="session")
def fake_data(tmp_path_factory):
    return make_fake_dataset(tmp_path_factory.mktemp("fake"))


def real_data_dir():
    """The real Fashion-MNIST files: $FMNIST_DATA_DIR, ./data, or ../shared/data."""
    candidates = [os.environ.get("FMNIST_DATA_DIR"), ROOT / "data", ROOT.parent / "shared" / "data"]
    for candidate in candidates:
        if candidate and (ex09.raw_dir(candidate) / ex09.FILES["train"]["images"][0]).exists():
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
