"""Data: the IDX reader, every kind of broken file, and the download path (local server only)."""

import errno
import functools
import gzip
import http.server
import os
import shutil
import socket
import threading
import time

import numpy as np
import pytest
import torch

import ex09
import fashion_mnist as fm
from conftest import make_fake_dataset, write_idx

OFFICIAL = [fm.FILES[s][k][0] for s in ("train", "test") for k in ("images", "labels")]


def test_idx_reader_round_trips_and_scales_to_minus_one_one(tmp_path):
    make_fake_dataset(tmp_path, n_train=20, n_test=10)
    images = np.zeros((3, 28, 28), dtype=np.uint8)
    images[0] = 255
    images[1, 0, 0] = 51
    raw = fm.raw_dir(tmp_path)
    write_idx(raw / "t10k-images-idx3-ubyte.gz", images, fm.IDX_IMAGES_MAGIC)
    write_idx(raw / "t10k-labels-idx1-ubyte.gz", [7, 0, 9], fm.IDX_LABELS_MAGIC)
    x, y = fm.load_split(tmp_path, "test", verify_md5=False)
    assert x.shape == (3, 784) and x.dtype == torch.float32
    assert y.tolist() == [7, 0, 9]
    assert bool((x[0] == 1).all()) and float(x[2].max()) == -1.0
    assert abs(float(x[1, 0]) - (51 / 127.5 - 1)) < 1e-6


def test_idx_pixels_are_read_row_by_row(tmp_path):
    """IDX stores each image row after row: an asymmetric image (one bright pixel in row 2,
    column 5; a bright top row) must come back unturned (not transposed, not flipped)."""
    make_fake_dataset(tmp_path, n_train=20, n_test=10)
    image = np.zeros((1, 28, 28), dtype=np.uint8)
    image[0, 2, 5] = 255
    image[0, 0, :] = 102
    raw = fm.raw_dir(tmp_path)
    write_idx(raw / "t10k-images-idx3-ubyte.gz", image, fm.IDX_IMAGES_MAGIC)
    write_idx(raw / "t10k-labels-idx1-ubyte.gz", [3], fm.IDX_LABELS_MAGIC)
    x, _ = fm.load_split(tmp_path, "test", verify_md5=False)
    pixels = x[0].reshape(28, 28)
    assert float(pixels[2, 5]) == 1.0 and float(pixels[5, 2]) == -1.0
    assert torch.allclose(pixels[0], torch.full((28,), 102 / 127.5 - 1))
    assert float(pixels[1:, 0].max()) == -1.0


def test_the_real_first_training_image_is_an_upright_ankle_boot(real_data):
    """Known pixels of the official train-images file, image 0 (label 9, ankle boot), read
    from the bytes by hand: row 14 holds 255 at column 25 where column 14 of row 25 holds 0."""
    x, y = fm.load_split(real_data, "train", verify_md5=False)
    first = x[0].reshape(28, 28)
    assert int(y[0]) == 9
    assert float(first[14, 25]) == pytest.approx(255 / 127.5 - 1)
    assert float(first[25, 14]) == pytest.approx(-1.0)
    assert round(float(first[14, 12]) * 127.5 + 127.5) == 237


@pytest.fixture
def dataset(tmp_path):
    make_fake_dataset(tmp_path, n_train=20, n_test=10)
    return tmp_path, fm.raw_dir(tmp_path)


def expect_error(data_dir, split, *fragments, verify_md5=False):
    with pytest.raises(fm.DataError) as info:
        fm.load_split(data_dir, split, verify_md5=verify_md5)
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
    write_idx(raw / "t10k-images-idx3-ubyte.gz", np.zeros((10, 28, 28)), fm.IDX_LABELS_MAGIC)
    expect_error(data_dir, "test", "t10k-images-idx3-ubyte.gz", "magic")


def test_wrong_image_size_is_named(dataset):
    data_dir, raw = dataset
    write_idx(raw / "t10k-images-idx3-ubyte.gz", np.zeros((10, 32, 32)), fm.IDX_IMAGES_MAGIC)
    expect_error(data_dir, "test", "t10k-images-idx3-ubyte.gz", "sizes")


def rewrite_gzip(path, change):
    """Replace a gzip file's content by change(content), still well-formed gzip."""
    with gzip.open(path, "rb") as handle:
        content = handle.read()
    with gzip.open(path, "wb") as handle:
        handle.write(change(content))


def test_missing_data_bytes_are_named(dataset):
    data_dir, raw = dataset
    rewrite_gzip(raw / "t10k-labels-idx1-ubyte.gz", lambda c: c[:-3])  # 10 labels said, 7 follow
    expect_error(data_dir, "test", "t10k-labels-idx1-ubyte.gz", "data bytes")


def test_label_image_count_mismatch_is_named(dataset):
    data_dir, raw = dataset
    write_idx(raw / "t10k-labels-idx1-ubyte.gz", np.zeros(9), fm.IDX_LABELS_MAGIC)
    expect_error(data_dir, "test", "10 images", "9 labels")


def test_md5_mismatch_is_named(dataset):
    data_dir, _ = dataset  # fake files carry the official names but not the official bytes
    expect_error(data_dir, "train", "train-images-idx3-ubyte.gz", "md5", verify_md5=True)


def test_real_files_pass_every_check(real_data):
    x, y = fm.load_split(real_data, "test")
    assert x.shape == (10000, 784) and y.bincount().tolist() == [1000] * 10
    assert float(x.min()) == -1.0 and float(x.max()) == 1.0


# ----------------------------------------------------------------------------- download

class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def serve_handler():
    """Run an HTTP handler class on 127.0.0.1 (never the real mirror); yields handler -> URL."""
    servers = []

    def start(handler):
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def serve(serve_handler):
    """Serve a folder on 127.0.0.1; yields a function folder -> URL."""
    return lambda folder: serve_handler(functools.partial(QuietHandler, directory=str(folder)))


def test_download_fetches_missing_files_and_verifies_them(real_data, serve, tmp_path):
    url = serve(fm.raw_dir(real_data))
    target = tmp_path / "data"
    fm.ensure_files(target, url)
    assert sorted(p.name for p in fm.raw_dir(target).iterdir()) == sorted(OFFICIAL)
    x, _ = fm.load_split(target, "train")  # md5 verified again on load
    assert x.shape == (60000, 784)


def test_download_with_wrong_md5_leaves_no_file(serve, tmp_path):
    mirror = tmp_path / "mirror"
    make_fake_dataset(mirror)  # right names, wrong bytes
    url = serve(fm.raw_dir(mirror))
    target = tmp_path / "data"
    with pytest.raises(fm.DataError, match="md5"):
        fm.ensure_files(target, url)
    assert list(fm.raw_dir(target).iterdir()) == []  # no partial or wrong file left behind


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
    assert str(fm.raw_dir(tmp_path / "data")) in err  # which folder
    assert "place them" in err  # how to fix it by hand


def test_only_missing_files_are_downloaded(real_data, serve, tmp_path):
    target = tmp_path / "data"
    fm.raw_dir(target).mkdir(parents=True)
    for name in OFFICIAL[1:]:
        shutil.copy(fm.raw_dir(real_data) / name, fm.raw_dir(target) / name)
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    shutil.copy(fm.raw_dir(real_data) / OFFICIAL[0], mirror / OFFICIAL[0])
    fm.ensure_files(target, serve(mirror))  # the mirror holds just the one missing file
    assert sorted(p.name for p in fm.raw_dir(target).iterdir()) == sorted(OFFICIAL)


# ----------------------------------------------------------------------------- what the OS, zlib
# and http raise: each a DataError that names the file

def test_a_folder_where_a_file_should_be_is_named(dataset):
    data_dir, raw = dataset
    path = raw / "t10k-images-idx3-ubyte.gz"  # checked first
    path.unlink()
    path.mkdir()
    for verify in (True, False):
        expect_error(data_dir, "test", str(path), "not a file", verify_md5=verify)


def test_an_unreadable_file_is_named(dataset, monkeypatch):
    data_dir, raw = dataset
    path = raw / "t10k-images-idx3-ubyte.gz"
    real_open = open

    def no_permission(file, *args, **kwargs):
        if str(file) == str(path):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", no_permission)
    monkeypatch.setattr(gzip, "open", lambda f, *a, **k: gzip.GzipFile(
        fileobj=no_permission(f, "rb")))
    expect_error(data_dir, "test", str(path), "Permission denied", verify_md5=True)
    expect_error(data_dir, "test", str(path), "Permission denied", verify_md5=False)


def test_a_data_dir_that_is_a_file_is_a_message(tmp_path, capsys):
    blocker = tmp_path / "data"
    blocker.write_text("not a folder")
    code = ex09.main(["--data-dir", str(blocker), "--out-dir", str(tmp_path / "out"),
                      "--mirror", "http://127.0.0.1:9/"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert f"{blocker} is a file" in err and "downloading" not in err


def test_a_damaged_deflate_stream_is_named(dataset):
    data_dir, raw = dataset
    path = raw / "train-images-idx3-ubyte.gz"
    content = bytearray(path.read_bytes())
    content[30:60] = b"\xff" * 30  # gzip header intact, compressed data broken
    path.write_bytes(bytes(content))
    expect_error(data_dir, "train", "train-images-idx3-ubyte.gz", "corrupt")


class CutOffHandler(http.server.BaseHTTPRequestHandler):
    """Promises 1000 bytes, sends 300 and hangs up."""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.end_headers()
        self.wfile.write(b"x" * 300)
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args):
        pass


class TrickleHandler(CutOffHandler):
    """Sends a byte every 20 ms, for ever (until the client gives up)."""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "100000")
        self.end_headers()
        try:
            for _ in range(100000):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.02)
        except OSError:  # the client hung up: what the test wants
            pass


def test_a_transfer_cut_off_midway_is_named_and_leaves_no_file(serve_handler, tmp_path):
    url = serve_handler(CutOffHandler)
    with pytest.raises(fm.DataError) as info:
        fm.ensure_files(tmp_path / "data", url)
    assert OFFICIAL[0] in str(info.value)
    assert "cut off" in str(info.value) or "IncompleteRead" in str(info.value)
    assert list(fm.raw_dir(tmp_path / "data").iterdir()) == []


def test_a_mirror_that_trickles_is_abandoned_at_the_deadline(serve_handler, tmp_path):
    url = serve_handler(TrickleHandler)
    raised = []

    def download():  # in a thread, so that a download without a deadline cannot hang the suite
        try:
            fm.ensure_files(tmp_path / "data", url, deadline_s=1.0)
        except fm.DataError as err:
            raised.append(err)

    worker = threading.Thread(target=download, daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive(), "the download was not abandoned within 10 s"
    assert raised, "no DataError"
    message = str(raised[0])
    assert "did not finish within 1 s" in message and OFFICIAL[0] in message
    assert list(fm.raw_dir(tmp_path / "data").iterdir()) == []


def test_a_mirror_given_as_a_plain_folder_path_is_read(real_data, tmp_path):
    target = tmp_path / "data"
    fm.ensure_files(target, str(fm.raw_dir(real_data)))
    assert sorted(p.name for p in fm.raw_dir(target).iterdir()) == sorted(OFFICIAL)
    with pytest.raises(fm.DataError) as info:
        fm.ensure_files(tmp_path / "other", str(tmp_path / "no-such-folder"))
    assert "no-such-folder" in str(info.value) and "place them" in str(info.value)


def test_labels_outside_0_to_9_are_refused(dataset):
    data_dir, raw = dataset
    write_idx(raw / "t10k-labels-idx1-ubyte.gz", [0, 1, 2, 3, 4, 5, 6, 7, 8, 10],
              fm.IDX_LABELS_MAGIC)
    expect_error(data_dir, "test", "t10k-labels-idx1-ubyte.gz", "label 10 outside 0..9")


def test_a_well_formed_idx_file_with_no_images_is_named(dataset):
    data_dir, raw = dataset
    write_idx(raw / "t10k-images-idx3-ubyte.gz", np.zeros((0, 28, 28)), fm.IDX_IMAGES_MAGIC)
    write_idx(raw / "t10k-labels-idx1-ubyte.gz", np.zeros(0), fm.IDX_LABELS_MAGIC)
    expect_error(data_dir, "test", "t10k-images-idx3-ubyte.gz", "holds no items")


def test_a_malformed_mirror_url_is_one_message(tmp_path, capsys):
    code = ex09.main(["--data-dir", str(tmp_path / "data"), "--out-dir", str(tmp_path / "out"),
                      "--mirror", "http://[::1"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err and "Invalid IPv6 URL" in err


def test_two_downloads_into_one_folder_use_partial_files_of_their_own(tmp_path, monkeypatch):
    opened = []
    real_open = open

    def spy(path, *args, **kwargs):
        opened.append(str(path))
        return real_open(path, *args, **kwargs)
    source = tmp_path / "source.bin"
    source.write_bytes(b"x" * 100)
    md5 = fm.md5_of(source)
    monkeypatch.setattr("builtins.open", spy)
    for _ in range(2):
        fm.download_file(source.as_uri(), tmp_path / "target.bin", md5)
    parts = {p for p in opened if p.endswith(".part")}
    assert len(parts) == 2  # one name per download
    assert (tmp_path / "target.bin").read_bytes() == b"x" * 100


def test_an_idx_file_with_bytes_after_its_data_is_refused(dataset):
    data_dir, raw = dataset
    rewrite_gzip(raw / "t10k-labels-idx1-ubyte.gz", lambda c: c + b"\x00\x01")  # 12 follow
    expect_error(data_dir, "test", "t10k-labels-idx1-ubyte.gz", "need 10 data bytes",
                 "file has 12")


def test_a_file_url_mirror_is_a_url_not_a_folder_name(real_data, tmp_path):
    folder = fm.raw_dir(real_data).resolve()
    mirror = folder.as_uri()  # file:///.../raw
    assert fm.mirror_url(mirror, OFFICIAL[0]) == f"{mirror}/{OFFICIAL[0]}"
    fm.ensure_files(tmp_path / "data", mirror)
    assert sorted(p.name for p in fm.raw_dir(tmp_path / "data").iterdir()) == sorted(OFFICIAL)
