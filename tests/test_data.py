"""Data: the IDX reader, every kind of broken file, and the download path (local server only)."""

import functools
import gzip
import http.server
import shutil
import socket
import threading

import numpy as np
import pytest
import torch

import ex09
from conftest import make_fake_dataset, write_idx

OFFICIAL = [ex09.FILES[s][k][0] for s in ("train", "test") for k in ("images", "labels")]


def test_idx_reader_round_trips_and_scales_to_minus_one_one(tmp_path):
    make_fake_dataset(tmp_path, n_train=20, n_test=10)
    images = np.zeros((3, 28, 28), dtype=np.uint8)
    images[0] = 255
    images[1, 0, 0] = 51
    raw = ex09.raw_dir(tmp_path)
    write_idx(raw / "t10k-images-idx3-ubyte.gz", images, ex09.IDX_IMAGES_MAGIC)
    write_idx(raw / "t10k-labels-idx1-ubyte.gz", [7, 0, 9], ex09.IDX_LABELS_MAGIC)
    x, y = ex09.load_split(tmp_path, "test", verify_md5=False)
    assert x.shape == (3, 784) and x.dtype == torch.float32
    assert y.tolist() == [7, 0, 9]
    assert bool((x[0] == 1).all()) and float(x[2].max()) == -1.0
    assert abs(float(x[1, 0]) - (51 / 127.5 - 1)) < 1e-6


@pytest.fixture
def dataset(tmp_path):
    make_fake_dataset(tmp_path, n_train=20, n_test=10)
    return tmp_path, ex09.raw_dir(tmp_path)


def expect_error(data_dir, split, *fragments, verify_md5=False):
    with pytest.raises(ex09.UsageError) as info:
        ex09.load_split(data_dir, split, verify_md5=verify_md5)
    for fragment in fragments:
        assert fragment in str(info.value)


def test_bad_gzip_is_named(dataset):
    data_dir, raw = dataset
    (raw / "t10k-images-idx3-ubyte.gz").write_bytes(b"this is not gzip")
    expect_error(data_dir, "test", "t10k-images-idx3-ubyte.gz", "gzip")


def test_truncated_gzip_is_named(dataset):
    data_dir, raw = dataset
    path = raw / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:200])
    expect_error(data_dir, "train", "train-images-idx3-ubyte.gz", "truncated")


def test_wrong_magic_is_named(dataset):
    data_dir, raw = dataset
    write_idx(raw / "t10k-images-idx3-ubyte.gz", np.zeros((10, 28, 28)), ex09.IDX_LABELS_MAGIC)
    expect_error(data_dir, "test", "t10k-images-idx3-ubyte.gz", "magic")


def test_wrong_image_size_is_named(dataset):
    data_dir, raw = dataset
    write_idx(raw / "t10k-images-idx3-ubyte.gz", np.zeros((10, 32, 32)), ex09.IDX_IMAGES_MAGIC)
    expect_error(data_dir, "test", "t10k-images-idx3-ubyte.gz", "sizes")


def test_missing_data_bytes_are_named(dataset):
    data_dir, raw = dataset
    path = raw / "t10k-labels-idx1-ubyte.gz"
    with gzip.open(path, "rb") as handle:
        content = handle.read()
    with gzip.open(path, "wb") as handle:
        handle.write(content[:-3])  # header says 10 labels, 7 follow
    expect_error(data_dir, "test", "t10k-labels-idx1-ubyte.gz", "data bytes")


def test_label_image_count_mismatch_is_named(dataset):
    data_dir, raw = dataset
    write_idx(raw / "t10k-labels-idx1-ubyte.gz", np.zeros(9), ex09.IDX_LABELS_MAGIC)
    expect_error(data_dir, "test", "10 images", "9 labels")


def test_md5_mismatch_is_named(dataset):
    data_dir, _ = dataset  # fake files carry the official names but not the official bytes
    expect_error(data_dir, "train", "train-images-idx3-ubyte.gz", "md5", verify_md5=True)


def test_real_files_pass_every_check(real_data):
    x, y = ex09.load_split(real_data, "test")
    assert x.shape == (10000, 784) and y.bincount().tolist() == [1000] * 10
    assert float(x.min()) == -1.0 and float(x.max()) == 1.0


# ----------------------------------------------------------------------------- download

class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def serve():
    """Serve a folder on 127.0.0.1 (never the real mirror); yields a function folder -> URL."""
    servers = []

    def start(folder):
        handler = functools.partial(QuietHandler, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_download_fetches_missing_files_and_verifies_them(real_data, serve, tmp_path):
    url = serve(ex09.raw_dir(real_data))
    target = tmp_path / "data"
    ex09.ensure_files(target, url)
    assert sorted(p.name for p in ex09.raw_dir(target).iterdir()) == sorted(OFFICIAL)
    x, _ = ex09.load_split(target, "train")  # md5 verified again on load
    assert x.shape == (60000, 784)


def test_download_with_wrong_md5_leaves_no_file(serve, tmp_path):
    mirror = tmp_path / "mirror"
    make_fake_dataset(mirror)  # right names, wrong bytes
    url = serve(ex09.raw_dir(mirror))
    target = tmp_path / "data"
    with pytest.raises(ex09.UsageError, match="md5"):
        ex09.ensure_files(target, url)
    assert list(ex09.raw_dir(target).iterdir()) == []  # no partial or wrong file left behind


def test_server_down_gives_one_clear_message(tmp_path, capsys):
    with socket.socket() as sock:  # a port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code = ex09.main(["--data-dir", str(tmp_path / "data"), "--out-dir", str(tmp_path / "out"),
                      "--mirror", f"http://127.0.0.1:{port}/"])
    err = capsys.readouterr().err
    assert code == 1
    assert "Traceback" not in err
    for name in OFFICIAL:
        assert name in err  # which files
    assert str(ex09.raw_dir(tmp_path / "data")) in err  # which folder
    assert "place them" in err  # how to fix it by hand


def test_only_missing_files_are_downloaded(real_data, serve, tmp_path):
    target = tmp_path / "data"
    ex09.raw_dir(target).mkdir(parents=True)
    for name in OFFICIAL[1:]:
        shutil.copy(ex09.raw_dir(real_data) / name, ex09.raw_dir(target) / name)
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    shutil.copy(ex09.raw_dir(real_data) / OFFICIAL[0], mirror / OFFICIAL[0])
    ex09.ensure_files(target, serve(mirror))  # the mirror holds just the one missing file
    assert sorted(p.name for p in ex09.raw_dir(target).iterdir()) == sorted(OFFICIAL)
