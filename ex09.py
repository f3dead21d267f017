"""Exercise sheet 9 (Q2, Q3): a fully-connected autoencoder and a denoising autoencoder
on Fashion-MNIST, in PyTorch.

    python ex09.py --mode plain      # Q2: autoencoder, reconstructions, t-SNE of the code
    python ex09.py --mode denoise    # Q3: same network trained on noisy inputs, clean targets
    python ex09.py --mode compare    # after both: measurements beyond the sheet (compare.py)

Read top to bottom in the order the data flows: options, data, model, training,
evaluation, figures, t-SNE, main. Every output of a run goes to <out-dir>/<mode>/; see
README.md for the list.
"""

import argparse
import csv
import gzip
import hashlib
import json
import os
import platform
import random
import shutil
import statistics
import struct
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import torch
from torch import nn

from noise import DEFAULT_NOISE_STD, add_white_noise

HERE = Path(__file__).resolve().parent
CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


class UsageError(Exception):
    """A problem the user can fix (bad data, bad option, missing file): printed, no traceback."""


# ----------------------------------------------------------------------------- options

def positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text}")
    return value


def non_negative_int(text):
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text}")
    return value


def positive_float(text):
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text}")
    return value


def non_negative_float(text):
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text}")
    return value


def build_parser():
    parser = argparse.ArgumentParser(
        description="Autoencoder (Q2) and denoising autoencoder (Q3) on Fashion-MNIST, "
                    "exercise sheet 9. Defaults are the sheet's settings.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--mode", choices=("plain", "denoise", "compare"), default="plain",
                        help="plain: autoencoder x -> g(f(x)) (Q2); denoise: noisy input, "
                             "clean target (Q3); compare: measurements and side-by-side "
                             "figures from finished plain and denoise runs (Q2e, Q3c)")
    parser.add_argument("--epochs", type=positive_int, default=50,
                        help="training epochs (Q2c: at least 50)")
    parser.add_argument("--batch-size", type=positive_int, default=128,
                        help="mini-batch size (Q2c)")
    parser.add_argument("--lr", type=positive_float, default=1e-3,
                        help="Adam learning rate (Q2c)")
    parser.add_argument("--weight-decay", type=non_negative_float, default=1e-5,
                        help="Adam weight decay; our reading of the sheet's 'momentum of 1e-5' "
                             "(Adam has no momentum argument; see README)")
    parser.add_argument("--noise-std", type=non_negative_float, default=DEFAULT_NOISE_STD,
                        help="std of the white noise on the [-1, 1] pixel scale, denoise mode "
                             "only (0.5 here is 0.25 on [0, 1] pixels)")
    parser.add_argument("--code-activation", choices=("relu", "linear"), default="relu",
                        help="activation of the 8-unit code layer: relu is the sheet's; linear "
                             "drops it (experiment; its outputs go to <mode>-linear-code/)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seeds every random generator (init, shuffling, noise, t-SNE)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), default="auto",
                        help="auto picks cuda, then mps, then cpu")
    parser.add_argument("--data-dir", type=Path, default=HERE / "data",
                        help="folder holding FashionMNIST/raw/*.gz (downloaded there if missing)")
    parser.add_argument("--out-dir", type=Path, default=HERE / "figures",
                        help="outputs go to <out-dir>/<mode>/")
    parser.add_argument("--tsne-samples", type=non_negative_int, default=500,
                        help="test images (stratified by class) embedded by t-SNE after "
                             "training (Q2e); 0 skips t-SNE")
    parser.add_argument("--eval-every", type=positive_int, default=10,
                        help="test loss and reconstruction figure every N epochs (Q2c, Q2d); "
                             "also before training and after the last epoch")
    parser.add_argument("--train-limit", type=positive_int, default=None,
                        help="use only the first N training images (quick checks)")
    parser.add_argument("--test-limit", type=positive_int, default=None,
                        help="use only the first N test images (quick checks)")
    parser.add_argument("--mirror", default=DEFAULT_MIRROR,
                        help="base URL the dataset files are downloaded from if missing")
    parser.add_argument("--skip-md5", action="store_true",
                        help="accept data files whose md5 differs from the official release "
                             "(their format is still checked); for custom or test copies")
    return parser


def check_args(args):
    """Refuse values that would fail late, before any data is read or any time is spent."""
    test_size = min(args.test_limit or FILES["test"]["count"], FILES["test"]["count"])
    if args.tsne_samples > test_size:
        raise UsageError(f"--tsne-samples {args.tsne_samples} is larger than the test set "
                         f"({test_size} images)")
    if 0 < args.tsne_samples < len(CLASS_NAMES):
        raise UsageError(f"--tsne-samples must be 0 (skip) or at least {len(CLASS_NAMES)}, "
                         f"one per class")
    if args.device == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda: this PyTorch build sees no CUDA GPU")
    if args.device == "mps" and not torch.backends.mps.is_available():
        raise UsageError("--device mps: Apple's MPS backend is not available here")
    try:
        args.out_dir.mkdir(parents=True, exist_ok=True)
        probe = args.out_dir / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise UsageError(f"cannot write to --out-dir {args.out_dir}: {err.strerror}") from None


def run_name(mode, code_activation="relu"):
    """Output folder name: one per mode and code variant, so no run overwrites another."""
    return mode if code_activation == "relu" else f"{mode}-{code_activation}-code"


def pick_device(name):
    if name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def set_seeds(seed):
    """The one place where global generators are seeded; run-specific generators derive from it."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


# ----------------------------------------------------------------------------- data

DEFAULT_MIRROR = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
# The official files, their published md5 sums and sizes (see ../shared/data/README.md).
FILES = {
    "train": {"images": ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
              "labels": ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
              "count": 60000},
    "test": {"images": ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
             "labels": ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
             "count": 10000},
}
IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC = 0x00000803, 0x00000801


def raw_dir(data_dir):
    return Path(data_dir) / "FashionMNIST" / "raw"


def md5_of(path):
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download_file(url, target, expected_md5, timeout=30):
    """Download url to target atomically: a temporary file, md5-checked, then renamed,
    so an interrupted or corrupted download never leaves a file that looks complete."""
    partial = target.with_name(target.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(partial, "wb") as out:
            shutil.copyfileobj(response, out)
        actual = md5_of(partial)
        if actual != expected_md5:
            raise UsageError(f"downloaded {target.name} from {url} has md5 {actual}, expected "
                             f"{expected_md5}: the mirror served a wrong or damaged file")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def ensure_files(data_dir, mirror):
    """Download whichever of the four official files are missing (Fashion-MNIST release)."""
    folder = raw_dir(data_dir)
    wanted = [FILES[s][k] for s in ("train", "test") for k in ("images", "labels")]
    missing = [(name, md5) for name, md5 in wanted if not (folder / name).exists()]
    if not missing:
        return
    folder.mkdir(parents=True, exist_ok=True)
    for name, md5 in missing:
        url = mirror.rstrip("/") + "/" + name
        print(f"downloading {url}")
        try:
            download_file(url, folder / name, md5)
        except (urllib.error.URLError, OSError) as err:
            names = "\n  ".join(n for n, _ in missing)
            raise UsageError(
                f"Fashion-MNIST files are missing from {folder}:\n  {names}\n"
                f"and downloading {url} failed ({getattr(err, 'reason', err)}).\n"
                f"Get the four .gz files from {DEFAULT_MIRROR} (or "
                f"https://github.com/zalandoresearch/fashion-mnist) and place them, still "
                f"gzipped, in {folder}, or point --data-dir at a folder holding "
                f"FashionMNIST/raw/.") from None


def read_idx(path, magic, expected_dims):
    """Parse one gzipped IDX file into a uint8 array, checking everything that can be wrong."""
    try:
        with gzip.open(path, "rb") as handle:
            raw = handle.read()
    except (OSError, EOFError) as err:
        raise UsageError(f"{path}: not a readable gzip file, corrupt or truncated ({err})") from None
    if len(raw) < 4 or struct.unpack(">I", raw[:4])[0] != magic:
        found = struct.unpack(">I", raw[:4])[0] if len(raw) >= 4 else None
        raise UsageError(f"{path}: wrong IDX magic number {found!r:}, expected {magic:#010x}")
    header_end = 4 + 4 * len(expected_dims)
    if len(raw) < header_end:
        raise UsageError(f"{path}: IDX header truncated")
    dims = struct.unpack(f">{len(expected_dims)}I", raw[4:header_end])
    for got, want in zip(dims, expected_dims):
        if want is not None and got != want:
            raise UsageError(f"{path}: IDX sizes {dims}, expected {expected_dims}")
    expected_bytes = int(np.prod(dims))
    if len(raw) - header_end != expected_bytes:
        raise UsageError(f"{path}: IDX sizes {dims} need {expected_bytes} data bytes, "
                         f"file has {len(raw) - header_end}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header_end).reshape(dims)


def load_split(data_dir, split, verify_md5=True):
    """Images as float32 (N, 784) in [-1, 1] (the Tanh range), labels as int64 (N,)."""
    folder = raw_dir(data_dir)
    spec = FILES[split]
    paths = {}
    for kind in ("images", "labels"):
        name, md5 = spec[kind]
        paths[kind] = folder / name
        if not paths[kind].exists():
            raise UsageError(f"missing data file {paths[kind]}")
        if verify_md5 and (actual := md5_of(paths[kind])) != md5:
            raise UsageError(f"{paths[kind]}: md5 {actual} differs from the official {md5}; "
                             f"the file is damaged or not the Fashion-MNIST release (delete it "
                             f"to re-download, or pass --skip-md5 for a custom copy)")
    images = read_idx(paths["images"], IDX_IMAGES_MAGIC, (None, 28, 28))
    labels = read_idx(paths["labels"], IDX_LABELS_MAGIC, (None,))
    if len(images) != len(labels):
        raise UsageError(f"{folder}: {split} split has {len(images)} images but "
                         f"{len(labels)} labels")
    if labels.size and labels.max() >= len(CLASS_NAMES):
        raise UsageError(f"{paths['labels']}: label {labels.max()} outside 0..9")
    # One float32 copy (188 MB for the training split), then scaled in place: no temporaries.
    x = torch.from_numpy(images.reshape(len(images), -1).astype(np.float32)).div_(127.5).sub_(1.0)
    return x, torch.from_numpy(labels.astype(np.int64))


def load_data(args):
    """Both splits as load_split gives them, downloaded if missing, cut to --train-limit and
    --test-limit: what every mode of ex09.py trains and evaluates on."""
    ensure_files(args.data_dir, args.mirror)
    x_train, y_train = load_split(args.data_dir, "train", verify_md5=not args.skip_md5)
    x_test, y_test = load_split(args.data_dir, "test", verify_md5=not args.skip_md5)
    return (x_train[:args.train_limit], y_train[:args.train_limit],
            x_test[:args.test_limit], y_test[:args.test_limit])


# ----------------------------------------------------------------------------- model (Q2a)

class Encoder(nn.Module):
    """f: 784 -> 128 -> 64 -> 32 -> 16 -> 8, every Linear followed by ReLU (as the sheet lists).

    code_activation="linear" drops the ReLU on the 8-d code h (an experiment beyond the sheet:
    a ReLU code is non-negative and its units can die)."""

    sizes = (784, 128, 64, 32, 16, 8)

    def __init__(self, code_activation="relu"):
        super().__init__()
        layers = []
        for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:]):
            layers += [nn.Linear(n_in, n_out), nn.ReLU()]
        if code_activation == "linear":
            layers.pop()
        elif code_activation != "relu":
            raise ValueError(f"code_activation must be 'relu' or 'linear', got {code_activation!r}")
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


class Decoder(nn.Module):
    """g: 8 -> 8 -> 32 -> 64 -> 128 -> 784, ReLU between layers, Tanh at the output.

    The sizes are the sheet's as printed (8 then 32, not a mirrored 16). Its last layer of
    "1 neuron" is read as 784 = 28x28 outputs, one per pixel, since g(f(x)) must match x."""

    sizes = (8, 8, 32, 64, 128, 784)

    def __init__(self):
        super().__init__()
        layers = []
        for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:]):
            layers += [nn.Linear(n_in, n_out), nn.ReLU()]
        layers[-1] = nn.Tanh()  # pixels live in [-1, 1]
        self.net = nn.Sequential(*layers)

    def forward(self, h):
        return self.net(h)


class AutoEncoder(nn.Module):
    def __init__(self, code_activation="relu"):
        super().__init__()
        self.f = Encoder(code_activation)
        self.g = Decoder()

    def forward(self, x):
        return self.g(self.f(x))


def make_optimizer(model, lr, weight_decay):
    """Q2c: Adam, lr 1e-3; the sheet's "momentum 1e-5" is the course template's weight decay.

    The fused implementation does the same update in one kernel for all parameters; it is the
    fastest on CPU (benchmarks/bench.py). Builds or devices without it use the default one."""
    try:
        return torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay, fused=True)
    except (RuntimeError, ValueError):
        return torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)


# ----------------------------------------------------------------------------- training (Q2c, Q3a)

def train_epoch(model, optimizer, loss_fn, x_train, batch_size, shuffle_gen,
                noise_std=0.0, noise_gen=None):
    """One pass over x_train in freshly shuffled mini-batches; returns the mean loss per sample.

    With noise_std > 0 (Q3a) the input is a freshly noised copy of the batch and the target
    is the clean batch."""
    model.train()
    n = x_train.shape[0]
    order = torch.randperm(n, generator=shuffle_gen).to(x_train.device)
    total = torch.zeros((), device=x_train.device)
    for start in range(0, n, batch_size):
        target = x_train[order[start:start + batch_size]]
        inputs = add_white_noise(target, noise_std, noise_gen) if noise_std > 0 else target
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(inputs), target)
        loss.backward()
        optimizer.step()
        # Accumulate on the device: no host sync per step.
        total += loss.detach() * target.shape[0]
    return (total / n).item()


# ----------------------------------------------------------------------------- evaluation

@torch.no_grad()
def evaluate(model, inputs, targets, batch_size=2000):
    """Mean squared error per pixel between g(f(inputs)) and targets over the whole set."""
    model.eval()
    total = 0.0
    for start in range(0, inputs.shape[0], batch_size):
        out = model(inputs[start:start + batch_size])
        total += torch.sum((out - targets[start:start + batch_size]) ** 2).item()
    return total / targets.numel()


@torch.no_grad()
def encode(model, x):
    model.eval()
    return model.f(x)


def first_of_each_class(labels):
    """Indices of the first test image of every class present: fixed, one per class (Q2d)."""
    return [int(torch.nonzero(labels == c)[0]) for c in range(len(CLASS_NAMES))
            if bool((labels == c).any())]


# ----------------------------------------------------------------------------- figures

def _matplotlib():
    import matplotlib
    matplotlib.use("Agg")  # headless: no display needed
    import matplotlib.pyplot as plt
    return plt


def plot_image_rows(rows, column_titles, title, path):
    """A grid of 28x28 images: one labelled row per entry of `rows` [(label, (10, 784))]."""
    plt = _matplotlib()
    n_rows, n_cols = len(rows), len(column_titles)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(1.25 * n_cols + 1.2, 1.35 * n_rows + 0.7),
                             squeeze=False)
    for r, (label, images) in enumerate(rows):
        for c in range(n_cols):
            ax = axes[r][c]
            ax.imshow(images[c].reshape(28, 28).cpu().numpy(), cmap="gray", vmin=-1, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(column_titles[c], fontsize=9)
        axes[r][0].set_ylabel(label, fontsize=9, rotation=0, ha="right", va="center")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_losses(history, title, test_label, path):
    plt = _matplotlib()
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    train = [(row["epoch"], row["train_loss"]) for row in history if row["train_loss"] is not None]
    test = [(row["epoch"], row["test_loss"]) for row in history if row["test_loss"] is not None]
    ax.plot(*zip(*train), "-", color="tab:blue", label="train (mean over each epoch)")
    ax.plot(*zip(*test), "o--", color="tab:orange", label=test_label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("MSE per pixel ([-1, 1] scale)")
    ax.set_yscale("log")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def draw_tsne(ax, coords, labels, title):
    """Scatter of 2-D t-SNE coordinates with a discrete 10-colour map, one colour per class."""
    import matplotlib.pyplot as plt
    cmap = plt.get_cmap("tab10")
    for c, name in enumerate(CLASS_NAMES):
        mask = labels == c
        if mask.any():
            ax.scatter(coords[mask, 0], coords[mask, 1], s=12, color=cmap(c), label=name)
    ax.set_xlabel("t-SNE dimension 1")
    ax.set_ylabel("t-SNE dimension 2")
    ax.set_title(title)


def plot_tsne(coords, labels, title, path):
    plt = _matplotlib()
    fig, ax = plt.subplots(figsize=(7.6, 5.6))
    draw_tsne(ax, coords, labels, title)
    ax.legend(title="class", loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# ----------------------------------------------------------------------------- t-SNE (Q2e, Q3c)

def stratified_indices(labels, n_samples, seed):
    """n_samples test indices, as equal per class as possible (50 each for 500), fixed by seed."""
    gen = torch.Generator().manual_seed(seed)
    n_classes = len(CLASS_NAMES)
    chosen = []
    for c in range(n_classes):
        want = n_samples // n_classes + (1 if c < n_samples % n_classes else 0)
        pool = torch.nonzero(labels == c).flatten()
        if len(pool) < want:
            raise UsageError(f"t-SNE needs {want} test images of class {CLASS_NAMES[c]!r}, "
                             f"the test set has {len(pool)}; lower --tsne-samples")
        chosen.append(pool[torch.randperm(len(pool), generator=gen)[:want]])
    return torch.sort(torch.cat(chosen)).values


def tsne_2d(codes, seed):
    from sklearn.manifold import TSNE
    perplexity = min(30.0, (len(codes) - 1) / 3)  # sklearn needs perplexity < n_samples
    return TSNE(n_components=2, perplexity=perplexity, init="pca",
                random_state=seed).fit_transform(codes)


def embed_codes(model, x_test, y_test, n_samples, seed, title, folder):
    """Codes h = f(x) of n_samples stratified test images, their t-SNE map and its figure.

    Both modes encode the clean images, so the two codes can be compared image for image.
    Returns None, or why t-SNE was skipped (identical codes, which t-SNE cannot embed)."""
    idx = stratified_indices(y_test, n_samples, seed)
    codes = encode(model, x_test[idx.to(x_test.device)]).cpu().numpy()
    if np.ptp(codes, axis=0).max() < 1e-12:
        return "skipped: every image has the same code (the network collapsed)"
    coords = tsne_2d(codes, seed)
    labels = y_test[idx].numpy()
    np.savez(folder / "tsne_codes.npz", indices=idx.numpy(), labels=labels, codes=codes,
             coords=coords)
    plot_tsne(coords, labels, title, folder / "tsne.png")
    return None


# ----------------------------------------------------------------------------- main

def write_csv(history, path):
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(history[0]))
        writer.writeheader()
        for row in history:
            writer.writerow({k: ("" if v is None else v) for k, v in row.items()})


def library_versions():
    import matplotlib
    import sklearn
    return {"python": platform.python_version(), "torch": torch.__version__,
            "numpy": np.__version__, "matplotlib": matplotlib.__version__,
            "scikit-learn": sklearn.__version__}


def drift_ratio(train_seconds):
    """Slowest of the last ten epochs over the median of the first five (None if too short)."""
    if len(train_seconds) < 15:
        return None
    return max(train_seconds[-10:]) / statistics.median(train_seconds[:5])


def publish(stage, final):
    """Swap the finished run's folder into place, so a run that stops early never leaves a
    mix of old and new outputs in <out-dir>/<mode>/."""
    old = final.with_name(f".{final.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        os.replace(final, old)
    os.replace(stage, final)
    shutil.rmtree(old, ignore_errors=True)


def run(args):
    check_args(args)
    set_seeds(args.seed)
    # The weights and Adam statistics of dead ReLU units decay into denormal floats, which
    # many CPUs process slowly; flushing them to zero guards against epochs slowing down.
    torch.set_flush_denormal(True)
    device = pick_device(args.device)
    denoise = args.mode == "denoise"
    final_dir = args.out_dir / run_name(args.mode, args.code_activation)
    stage = final_dir.with_name(final_dir.name + ".partial")
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)

    # Data: whole splits in memory, sliced into mini-batches without a DataLoader.
    x_train, _, x_test, y_test = load_data(args)
    x_train, x_test = x_train.to(device), x_test.to(device)
    print(f"{args.mode} autoencoder on {device}: {len(x_train)} training and {len(x_test)} "
          f"test images, {args.epochs} epochs")

    # Q3a: the test inputs are noised once, from a fixed seed, so every evaluation sees the
    # same noisy images; training noise is fresh for every batch.
    noise_gen = torch.Generator(device=device).manual_seed(args.seed + 2)
    if denoise:
        test_noise_gen = torch.Generator(device=device).manual_seed(args.seed + 1)
        x_test_in = add_white_noise(x_test, args.noise_std, test_noise_gen)
    else:
        x_test_in = x_test
    shuffle_gen = torch.Generator().manual_seed(args.seed)

    model = AutoEncoder(args.code_activation).to(device)
    loss_fn = nn.MSELoss()  # Q2b
    optimizer = make_optimizer(model, args.lr, args.weight_decay)

    shown = first_of_each_class(y_test)
    titles = [CLASS_NAMES[int(y_test[i])] for i in shown]
    name = ("Denoising autoencoder" if denoise else "Autoencoder") + (
        "" if args.code_activation == "relu" else " (linear code)")
    snapshots = []  # (epoch, reconstructions of the shown images) for the evolution figure
    history = []
    train_seconds = []

    def test_and_plot(epoch):
        """Q2c/Q2d/Q3b: test loss plus the figure of the ten fixed test images."""
        loss = evaluate(model, x_test_in, x_test)
        with torch.no_grad():
            recon = model(x_test_in[shown])
        snapshots.append((epoch, recon))
        rows = ([("noisy input", x_test_in[shown])] if denoise else [("input", x_test[shown])])
        rows.append(("reconstruction", recon))
        if denoise:
            rows.append(("original", x_test[shown]))
        plot_image_rows(rows, titles, f"{name}, epoch {epoch}: test MSE {loss:.4f}",
                        stage / f"recon_epoch{epoch:03d}.png")
        return loss

    started = time.perf_counter()
    history.append({"epoch": 0, "train_loss": None, "test_loss": test_and_plot(0),
                    "train_seconds": None, "epoch_seconds": None})
    print(f"epoch {0:3d}/{args.epochs}  {'':18s}  test {history[0]['test_loss']:.5f}")
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        train_loss = train_epoch(model, optimizer, loss_fn, x_train, args.batch_size, shuffle_gen,
                                 args.noise_std if denoise else 0.0, noise_gen)
        t1 = time.perf_counter()
        test_loss = None
        if epoch % args.eval_every == 0 or epoch == args.epochs:
            test_loss = test_and_plot(epoch)
        t2 = time.perf_counter()
        train_seconds.append(t1 - t0)
        history.append({"epoch": epoch, "train_loss": train_loss, "test_loss": test_loss,
                        "train_seconds": round(t1 - t0, 4), "epoch_seconds": round(t2 - t0, 4)})
        test_text = f"  test {test_loss:.5f}" if test_loss is not None else ""
        print(f"epoch {epoch:3d}/{args.epochs}  train {train_loss:.5f}{test_text}  "
              f"({t1 - t0:.2f} s training, {t2 - t0:.2f} s in all)", flush=True)
    train_time = time.perf_counter() - started

    write_csv(history, stage / "losses.csv")
    test_label = (f"test, noisy input vs clean image (epoch 0, every {args.eval_every})" if denoise
                  else f"test (epoch 0, every {args.eval_every})")
    plot_losses(history, f"{name}: loss per epoch", test_label, stage / "loss_curve.png")
    rows = ([("noisy input", x_test_in[shown])] if denoise else []) + [("original", x_test[shown])]
    rows += [(f"epoch {epoch}", recon) for epoch, recon in snapshots]
    plot_image_rows(rows, titles, f"{name}: reconstructions of ten test images during training",
                    stage / "recon_evolution.png")

    # Q2e / Q3c: t-SNE of the codes of the same stratified test images in both modes.
    tsne_seconds = tsne_note = None
    if args.tsne_samples:
        t0 = time.perf_counter()
        tsne_note = embed_codes(model, x_test, y_test, args.tsne_samples, args.seed,
                                f"{name}: t-SNE of the 8-d code of {args.tsne_samples} test images",
                                stage)
        tsne_seconds = time.perf_counter() - t0
        if tsne_note:
            print(f"warning: t-SNE {tsne_note}", file=sys.stderr)

    torch.save(model.state_dict(), stage / "model.pt")
    test_losses = {row["epoch"]: row["test_loss"] for row in history if row["test_loss"] is not None}
    metrics = {
        "mode": args.mode,
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
                   if k not in ("data_dir", "out_dir", "mirror")},
        "device": str(device), "torch_threads": torch.get_num_threads(),
        "train_images": len(x_train), "test_images": len(x_test),
        "final_train_loss": history[-1]["train_loss"],
        "final_test_loss": history[-1]["test_loss"],
        "test_loss_by_epoch": test_losses,
        "seconds": {"training_and_evaluation": round(train_time, 2),
                    "train_epoch_median": round(statistics.median(train_seconds), 4),
                    "tsne": None if tsne_seconds is None else round(tsne_seconds, 2)},
        "epoch_time_drift": drift_ratio(train_seconds),
        "tsne_note": tsne_note,
        "versions": library_versions(),
        "platform": platform.platform(),
    }
    (stage / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    publish(stage, final_dir)
    drift = metrics["epoch_time_drift"]
    print(f"done in {train_time:.1f} s; final test MSE {metrics['final_test_loss']:.5f}"
          + (f"; epoch-time drift {drift:.2f}x" if drift else "") + f"; outputs in {final_dir}")


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        if args.mode == "compare":
            import compare  # measurements beyond the sheet, on the saved runs
            compare.run(args)
        else:
            run(args)
    except UsageError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        folder = args.out_dir / run_name(args.mode, args.code_activation)
        print(f"\ninterrupted: earlier results in {folder} are untouched; the partial run is "
              f"in {folder}.partial", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
