"""The Fashion-MNIST files for ex09.py: find, download, verify and parse them.

Kept apart from the model code, as torchvision keeps its datasets apart from its models. The
four original gzipped IDX files live in <data-dir>/FashionMNIST/raw/ (torchvision's layout).
Every problem with them (missing, damaged, a folder where a file should be, a mirror that
fails or never finishes) raises DataError with a message that names the file.
"""

import gzip
import hashlib
import http.client
import os
import struct
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zlib
from pathlib import Path

import numpy as np
import torch

CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
DEFAULT_MIRROR = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
# The official files and their published md5 sums (see ../shared/data/README.md).
FILES = {
    "train": {"images": ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
              "labels": ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
              "count": 60000},
    "test": {"images": ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
             "labels": ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
             "count": 10000},
}
IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC = 0x00000803, 0x00000801
# A download that has not finished after this many seconds is abandoned: a mirror that
# trickles bytes would otherwise hold the run forever (each read alone never times out).
DOWNLOAD_DEADLINE_S = 900.0
READ_TIMEOUT_S = 30.0


class DataError(Exception):
    """A data file that is missing, damaged or cannot be fetched: printed, no traceback."""


def add_options(parser, positive_int, path_type):
    """The options that say where the data is and how much of it to use (ex09.py, analyses)."""
    parser.add_argument("--data-dir", type=path_type, default=Path(__file__).resolve().parent /
                        "data", help="folder holding FashionMNIST/raw/*.gz (downloaded there "
                                     "if missing)")
    for split in ("train", "test"):
        parser.add_argument(f"--{split}-limit", type=positive_int, default=None,
                            help=f"use only the first N {split} images (quick checks)")
    parser.add_argument("--mirror", default=DEFAULT_MIRROR,
                        help="base URL (or local folder) missing files are fetched from")
    parser.add_argument("--skip-md5", action="store_true",
                        help="accept data files whose md5 differs from the official release "
                             "(their format is still checked); for custom or test copies")


def load(args):
    """Both splits, downloaded if missing, cut to --train-limit and --test-limit: what every
    run and analysis trains and evaluates on."""
    ensure_files(args.data_dir, args.mirror)
    x_train, y_train = load_split(args.data_dir, "train", verify_md5=not args.skip_md5)
    x_test, y_test = load_split(args.data_dir, "test", verify_md5=not args.skip_md5)
    return (x_train[:args.train_limit], y_train[:args.train_limit],
            x_test[:args.test_limit], y_test[:args.test_limit])


def raw_dir(data_dir):
    return Path(data_dir) / "FashionMNIST" / "raw"


def _reason(err):
    return getattr(err, "reason", None) or getattr(err, "strerror", None) or err


def md5_of(path):
    digest = hashlib.md5()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as err:  # a folder where the file should be, no permission, I/O error
        raise DataError(f"{path}: cannot read it ({_reason(err)})") from None
    return digest.hexdigest()


def mirror_url(mirror, name):
    """URL of one file on the mirror; a mirror given as a plain folder path is read locally."""
    if urllib.parse.urlparse(mirror).scheme in ("http", "https", "ftp", "file"):
        return mirror.rstrip("/") + "/" + name
    return (Path(mirror).expanduser().resolve() / name).as_uri()


def download_file(url, target, expected_md5, deadline_s=DOWNLOAD_DEADLINE_S):
    """Download url to target atomically: a temporary file, size- and md5-checked, then
    renamed, so an interrupted, cut-off or corrupted download never looks complete."""
    # A name of its own: two runs downloading into one folder must not share a partial file.
    partial = target.with_name(f"{target.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.part")
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=min(READ_TIMEOUT_S, deadline_s)) as response, \
                open(partial, "wb") as out:
            expected_size = response.headers.get("Content-Length") if response.headers else None
            read = getattr(response, "read1", response.read)  # at most one socket read per call
            received = 0
            while block := read(1 << 16):
                out.write(block)
                received += len(block)
                if time.monotonic() - started > deadline_s:
                    raise DataError(f"downloading {url} did not finish within {deadline_s:g} s "
                                    f"({received} bytes received): the mirror is too slow")
        if expected_size is not None and received != int(expected_size):
            raise DataError(f"downloading {url} was cut off after {received} of "
                            f"{expected_size} bytes")
        actual = md5_of(partial)
        if actual != expected_md5:
            raise DataError(f"downloaded {target.name} from {url} has md5 {actual}, expected "
                            f"{expected_md5}: the mirror served a wrong or damaged file")
        os.replace(partial, target)
    except http.client.HTTPException as err:  # IncompleteRead and friends are not OSErrors
        raise DataError(f"downloading {url} failed: {type(err).__name__} {err}") from None
    finally:
        partial.unlink(missing_ok=True)


def ensure_files(data_dir, mirror, deadline_s=DOWNLOAD_DEADLINE_S):
    """Download whichever of the four official files are missing (Fashion-MNIST release)."""
    folder = raw_dir(data_dir)
    for parent in (Path(data_dir), folder.parent, folder):
        if parent.exists() and not parent.is_dir():
            raise DataError(f"{parent} is a file, but the data must be in a folder "
                            f"{folder}; point --data-dir elsewhere")
    wanted = [FILES[s][k] for s in ("train", "test") for k in ("images", "labels")]
    missing = [(name, md5) for name, md5 in wanted if not (folder / name).exists()]
    if not missing:
        return
    for name, md5 in missing:
        url = mirror
        try:
            url = mirror_url(mirror, name)  # a malformed URL (http://[::1) raises ValueError
            print(f"downloading {url}")
            folder.mkdir(parents=True, exist_ok=True)
            download_file(url, folder / name, md5, deadline_s)
        except (OSError, ValueError) as err:  # URLError, timeouts, a bad URL, a full disk
            names = "\n  ".join(n for n, _ in missing)
            raise DataError(
                f"Fashion-MNIST files are missing from {folder}:\n  {names}\n"
                f"and downloading {url} failed ({_reason(err)}).\n"
                f"Get the four .gz files from {DEFAULT_MIRROR} (or "
                f"https://github.com/zalandoresearch/fashion-mnist) and place them, still "
                f"gzipped, in {folder}, or point --data-dir at a folder holding "
                f"FashionMNIST/raw/.") from None


def read_idx(path, magic, expected_dims):
    """Parse one gzipped IDX file into a uint8 array, checking everything that can be wrong."""
    try:
        with gzip.open(path, "rb") as handle:
            raw = handle.read()
    except (OSError, EOFError, zlib.error) as err:  # a damaged deflate stream is a zlib.error
        raise DataError(f"{path}: not a readable gzip file, corrupt or truncated "
                        f"({_reason(err)})") from None
    found = struct.unpack(">I", raw[:4])[0] if len(raw) >= 4 else None
    if found != magic:
        raise DataError(f"{path}: wrong IDX magic number {found!r}, expected {magic:#010x}")
    header_end = 4 + 4 * len(expected_dims)
    if len(raw) < header_end:
        raise DataError(f"{path}: IDX header truncated")
    dims = struct.unpack(f">{len(expected_dims)}I", raw[4:header_end])
    for got, want in zip(dims, expected_dims):
        if want is not None and got != want:
            raise DataError(f"{path}: IDX sizes {dims}, expected {expected_dims}")
    if dims[0] == 0:
        raise DataError(f"{path}: the IDX file holds no items (sizes {dims})")
    expected_bytes = int(np.prod(dims))
    if len(raw) - header_end != expected_bytes:
        raise DataError(f"{path}: IDX sizes {dims} need {expected_bytes} data bytes, "
                        f"file has {len(raw) - header_end}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header_end).reshape(dims)


def load_split(data_dir, split, verify_md5=True):
    """Images as float32 (N, 784) in [-1, 1] (the Tanh range), labels as int64 (N,)."""
    folder = raw_dir(data_dir)
    paths = {}
    for kind in ("images", "labels"):
        name, md5 = FILES[split][kind]
        paths[kind] = folder / name
        if not paths[kind].exists():
            raise DataError(f"missing data file {paths[kind]}")
        if not paths[kind].is_file():
            raise DataError(f"{paths[kind]} is not a file (a folder?); put the .gz file there")
        if verify_md5 and (actual := md5_of(paths[kind])) != md5:
            raise DataError(f"{paths[kind]}: md5 {actual} differs from the official {md5}; "
                            f"the file is damaged or not the Fashion-MNIST release (delete it "
                            f"to re-download, or pass --skip-md5 for a custom copy)")
    images = read_idx(paths["images"], IDX_IMAGES_MAGIC, (None, 28, 28))
    labels = read_idx(paths["labels"], IDX_LABELS_MAGIC, (None,))
    if len(images) != len(labels):
        raise DataError(f"{folder}: {split} split has {len(images)} images but "
                        f"{len(labels)} labels")
    if labels.size and labels.max() >= len(CLASS_NAMES):
        raise DataError(f"{paths['labels']}: label {labels.max()} outside 0..9")
    # One float32 copy (188 MB for the training split), then scaled in place: no temporaries.
    x = torch.from_numpy(images.reshape(len(images), -1).astype(np.float32)).div_(127.5).sub_(1.0)
    return x, torch.from_numpy(labels.astype(np.int64))
