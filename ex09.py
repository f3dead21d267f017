"""Exercise sheet 9 (Q2, Q3): a fully-connected autoencoder and a denoising autoencoder on
Fashion-MNIST, in PyTorch. `python ex09.py --mode plain` (Q2), `--mode denoise` (Q3).

Top to bottom in the order the data flows: options, model, training, evaluation, figures,
t-SNE, the run's steps, main. fashion_mnist.py reads the data, noise.py makes the noise; the
analyses beyond the sheet (python -m analyses) import this file, never the other way round.
Every output of a run goes to <out-dir>/<mode>/ (README.md lists them)."""

import argparse
import csv
import importlib.metadata
import io
import json
import math
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

STARTED = time.perf_counter()  # before torch loads: "done in" counts the start-up a user waits
import numpy as np
import torch
from torch import nn

import cuda_graph
import fashion_mnist
import publishing
from fashion_mnist import CLASS_NAMES, FILES, DataError
from noise import DEFAULT_NOISE_STD, TEST_NOISE_SEED, add_white_noise

HERE = Path(__file__).resolve().parent
MAX_SEED = 2**32 - 1  # numpy's seed range


class UsageError(Exception):
    """A problem the user can fix (bad option, diverged run, missing run): printed, no traceback."""


# Printed as one line by main(), never a traceback.
USER_ERRORS = (UsageError, DataError, publishing.PublishError)


# ----------------------------------------------------------------------------- options

def bounded(kind, low, high=math.inf, low_inclusive=True):
    """An argparse type: a finite number of `kind` in [low, high] (or (low, high])."""
    def parse(text):
        value = kind(text)  # argparse turns a ValueError into "invalid <kind> value"
        if not (math.isfinite(value) and (value >= low if low_inclusive else value > low)
                and value <= high):
            raise argparse.ArgumentTypeError(f"must be finite, {'>=' if low_inclusive else '>'} "
                                             f"{low} and <= {high}, got {text}")
        return value
    parse.__name__ = kind.__name__  # argparse says "invalid int value", not "invalid parse"
    return parse


positive_int, non_negative_int = bounded(int, 1), bounded(int, 0)
positive_float, non_negative_float = bounded(float, 0, low_inclusive=False), bounded(float, 0)
seed_int = bounded(int, 0, MAX_SEED)


def user_path(text):  # '~' means the home folder on every OS, as in a shell
    return Path(text).expanduser()


def build_parser(parser=None):  # analyses/variants.py passes its own, for the same options
    parser = parser or argparse.ArgumentParser(
        description="Autoencoder (Q2) and denoising autoencoder (Q3) on Fashion-MNIST, exercise "
                    "sheet 9, with the sheet's settings as defaults. Beyond the sheet: python -m "
                    "analyses", formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--mode", choices=("plain", "denoise"), default="plain",
                        help="plain: x -> g(f(x)) (Q2); denoise: noisy in, clean target (Q3)")
    parser.add_argument("--epochs", type=positive_int, default=50, help="training epochs (Q2c)")
    parser.add_argument("--batch-size", type=positive_int, default=128, help="mini-batch (Q2c)")
    parser.add_argument("--lr", type=positive_float, default=1e-3, help="Adam's learning rate")
    parser.add_argument("--weight-decay", type=non_negative_float, default=1e-5,
                        help="Adam's weight decay: the sheet's 'momentum of 1e-5' (see README)")
    parser.add_argument("--noise-std", type=non_negative_float, default=DEFAULT_NOISE_STD,
                        help="white-noise std on the [-1, 1] scale, denoise mode (Q3a)")
    parser.add_argument("--seed", type=seed_int, default=0,
                        help=f"0..{MAX_SEED}: initial weights, shuffling, training noise, t-SNE "
                             f"(the test noise has its own fixed seed, {TEST_NOISE_SEED})")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), default="auto",
                        help="auto picks cuda, then mps, then cpu")
    parser.add_argument("--out-dir", type=user_path, default=HERE / "figures",
                        help="outputs go to <out-dir>/<mode>/")
    parser.add_argument("--tsne-samples", type=non_negative_int, default=500,
                        help="test images, stratified by class, for t-SNE (Q2e); 0 skips it")
    parser.add_argument("--eval-every", type=positive_int, default=10,
                        help="test loss and figure every N epochs, at 0 and at the end (Q2c-d)")
    fashion_mnist.add_options(parser, positive_int, user_path)
    return parser


def check_args(args):
    """Refuse what would fail late, before any data is read; returns the run's folder and the
    folders made for it."""
    test_size = min(args.test_limit or FILES["test"]["count"], FILES["test"]["count"])
    if args.tsne_samples > test_size or 0 < args.tsne_samples < len(CLASS_NAMES):
        raise UsageError(f"--tsne-samples must be 0 (skip) or between {len(CLASS_NAMES)} (one per "
                         f"class) and the test set's size ({test_size}), got {args.tsne_samples}")
    available = {"cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available()}
    if not available.get(args.device, True):
        raise UsageError(f"--device {args.device}: this PyTorch build cannot use it here")
    if args.device == "auto":  # the first one available
        args.device = next((d for d, there in available.items() if there), "cpu")
    final_dir = args.out_dir / args.mode
    if final_dir.exists() and not final_dir.is_dir():
        raise UsageError(f"{final_dir} is a file where this run's folder goes; it will not be "
                         f"replaced: move it, or choose another --out-dir")
    publishing.refuse_nested_runs(final_dir)  # before the training, not only at its end
    try:
        made = publishing.make_dirs(args.out_dir)  # removed again if the run fails
        tempfile.TemporaryFile(dir=args.out_dir).close()  # can we write there?
    except OSError as err:
        raise UsageError(f"cannot write to --out-dir {args.out_dir}: {err.strerror}") from None
    return final_dir, made


def set_seeds(seed):  # the one place where global generators are seeded
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


# ----------------------------------------------------------------------------- model (Q2a, Q2c)

def linear_relu_stack(sizes):  # [Linear, ReLU] for each pair of consecutive sizes
    return [m for n_in, n_out in zip(sizes[:-1], sizes[1:])
            for m in (nn.Linear(n_in, n_out), nn.ReLU())]


class Encoder(nn.Module):
    """f: 784 -> 128 -> 64 -> 32 -> 16 -> 8, every Linear followed by ReLU (as the sheet lists)."""
    sizes = (784, 128, 64, 32, 16, 8)

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(*linear_relu_stack(self.sizes))

    def forward(self, x):
        return self.net(x)


class Decoder(nn.Module):
    """g: 8 -> 8 -> 32 -> 64 -> 128 -> 784, ReLU between layers, Tanh at the output (pixels
    live in [-1, 1]). The sizes are the sheet's as printed (8 then 32, not a mirrored 16); its
    last layer of "1 neuron" is read as 784 = 28x28 outputs, since g(f(x)) must match x."""
    sizes = (8, 8, 32, 64, 128, 784)

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(*linear_relu_stack(self.sizes)[:-1], nn.Tanh())

    def forward(self, h):
        return self.net(h)


class AutoEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.f = Encoder()
        self.g = Decoder()

    def forward(self, x):
        return self.g(self.f(x))


def make_optimizer(model, lr, weight_decay, beta1=0.9):
    """Q2c: Adam; the sheet's "momentum 1e-5" read as weight decay (README; analyses/beta1.py
    tries the other reading, beta1 = 1e-5). Fused if built."""
    options = {"lr": lr, "weight_decay": weight_decay, "betas": (beta1, 0.999)}
    try:
        return torch.optim.Adam(model.parameters(), **options, fused=True)
    except (RuntimeError, ValueError):
        return torch.optim.Adam(model.parameters(), **options)


# ----------------------------------------------------------------------------- training (Q2c, Q3a)

def train_epoch(model, optimizer, loss_fn, x_train, batch_size, shuffle_gen,
                noise_std=0.0, noise_gen=None):
    """One pass over x_train in freshly shuffled mini-batches; returns the mean loss per sample.
    With noise_std > 0 (Q3a) the input is a freshly noised copy of the batch, the target clean."""
    model.train()
    n, total = x_train.shape[0], torch.zeros((), device=x_train.device)
    order = torch.randperm(n, generator=shuffle_gen).to(x_train.device)
    for start in range(0, n, batch_size):
        target = x_train[order[start:start + batch_size]]
        inputs = add_white_noise(target, noise_std, noise_gen) if noise_std > 0 else target
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(inputs), target)
        loss.backward()
        optimizer.step()
        total += loss.detach() * target.shape[0]  # on the device: no host sync per step
    return (total / n).item()


# ----------------------------------------------------------------------------- evaluation

@torch.no_grad()
def evaluate(model, inputs, targets, batch_size=2000):
    """Mean squared error per pixel between g(f(inputs)) and targets over the whole set."""
    model.eval()
    total = sum(torch.sum((model(inputs[i:i + batch_size]) - targets[i:i + batch_size]) ** 2).item()
                for i in range(0, inputs.shape[0], batch_size))
    return total / targets.numel()


@torch.no_grad()
def encode(model, x):  # the code h = f(x)
    return model.eval().f(x)


@torch.no_grad()
def network_health(model, x, min_fraction=0.01):
    """Is the network alive? Units of the code h and of the decoder's first layer that are
    non-zero on at least min_fraction of the images x, and whether the output g(f(x)) varies
    with the input at all (a dead start ignores it and outputs one image for every input)."""
    h = encode(model, x)
    first, out = model.g.net[1](model.g.net[0](h)), model.g(h)  # first: Linear and its ReLU
    live = [int(((a != 0).float().mean(dim=0) >= min_fraction).sum()) for a in (h, first)]
    return {"live_code_units": live[0], "live_decoder_units": live[1],
            "output_varies": bool((out - out[:1]).abs().max() > 1e-6)}


def first_of_each_class(labels):
    """Indices of the first test image of every class present: fixed, one per class (Q2d)."""
    return [int(torch.nonzero(labels == c)[0]) for c in range(len(CLASS_NAMES))
            if bool((labels == c).any())]


# ----------------------------------------------------------------------------- figures

def _matplotlib():
    import matplotlib
    matplotlib.use("Agg")  # headless: no display needed
    import matplotlib.pyplot as plt
    plt.rcParams.update({"font.size": 8, "axes.titlesize": 8.5, "legend.fontsize": 7.5,
                         "xtick.labelsize": 7.5, "ytick.labelsize": 7.5})
    return plt


def save(fig, path, dpi=200, layout=True):
    """At print size (<= 6.5 in); the PNG records width and smallest font (tests: >= 7 pt)."""
    from matplotlib.text import Text
    if layout:
        fig.tight_layout()
    fig.canvas.draw()  # creates the tick labels, whose sizes count too
    sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_visible() and t.get_text()]
    publishing.written(path, lambda p: fig.savefig(p, dpi=dpi, metadata={
        "WidthInches": f"{fig.get_figwidth():.3f}",
        "SmallestFontPt": f"{min(sizes, default=99):.2f}"}))
    _matplotlib().close(fig)


def plot_image_rows(rows, column_titles, title, path, gap=4):
    """A grid of 28x28 images, framed, `gap` pixels apart: one labelled row per entry of `rows`
    [(label, (10, 784))], each row one axes (thirty axes took four times as long to draw)."""
    from matplotlib.patches import Rectangle
    plt, n_cols, step = _matplotlib(), len(column_titles), 28 + gap
    fig, axes = plt.subplots(len(rows), 1, squeeze=False, figsize=(
        0.56 * n_cols + 0.9, 0.6 * len(rows) + 0.45))
    for r, (ax, (label, images)) in enumerate(zip(axes[:, 0], rows)):
        strip = np.full((28, n_cols * step - gap), np.nan)  # NaN: the white gaps
        for c in range(n_cols):
            strip[:, c * step:c * step + 28] = images[c].reshape(28, 28).cpu().numpy()
            ax.add_patch(Rectangle((c * step - 0.5, -0.5), 28, 28, fill=False, linewidth=0.8))
        ax.imshow(strip, cmap=plt.get_cmap("gray").with_extremes(bad="white"), vmin=-1, vmax=1)
        ax.spines[:].set_visible(False)
        ax.set(yticks=[], xticks=[c * step + 13.5 for c in range(n_cols)] if r == 0 else [])
        if r == 0:  # "T-shirt/top" on two lines: one column is 0.56 in
            ax.xaxis.tick_top()
            ax.set_xticklabels([t.replace("/", "/\n") for t in column_titles], fontsize=7.5)
            ax.tick_params(length=0)
        ax.set_ylabel(label, fontsize=7.5, rotation=0, ha="right", va="center")
    fig.suptitle(title, fontsize=9)
    save(fig, path)


def plot_losses(history, title, test_label, path):
    fig, ax = _matplotlib().subplots(figsize=(3.2, 2.6))
    for key, style, colour, label in (("train_loss", "-", "tab:blue", "train (epoch mean)"),
                                      ("test_loss", "o", "tab:orange", test_label)):
        ax.plot(*zip(*[(r["epoch"], r[key]) for r in history if r[key] is not None]), style,
                color=colour, label=label, markersize=3)
    ax.set(xlabel="epoch", ylabel="MSE per pixel", yscale="log", title=title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="upper right")
    save(fig, path)


def draw_tsne(ax, coords, labels, title):
    """Scatter of 2-D t-SNE coordinates with a discrete 10-colour map, one colour per class."""
    cmap = _matplotlib().get_cmap("tab10")
    for c, name in enumerate(CLASS_NAMES):
        if (mask := labels == c).any():
            ax.scatter(coords[mask, 0], coords[mask, 1], s=6, color=cmap(c), label=name)
    ax.set(xlabel="t-SNE dimension 1", ylabel="t-SNE dimension 2", title=title)


def plot_tsne(coords, labels, title, path):
    fig, ax = _matplotlib().subplots(figsize=(4.8, 3.4))
    draw_tsne(ax, coords, labels, title)
    ax.legend(title="class", loc="center left", bbox_to_anchor=(1.0, 0.5))
    save(fig, path)


# ----------------------------------------------------------------------------- t-SNE (Q2e, Q3c)

def stratified_indices(labels, n_samples, seed):
    """n_samples test indices, as equal per class as possible (50 each for 500), fixed by seed."""
    gen, n_classes, chosen = torch.Generator().manual_seed(seed), len(CLASS_NAMES), []
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


def embed_codes(model, x, labels, idx, seed, title, folder):
    """Codes h = f(x) of the test images idx, their t-SNE map and its figure (Q2e, Q3c). Both
    modes pass the clean images, so the two codes can be compared image for image. Returns
    None, or why t-SNE was skipped (identical codes, which t-SNE cannot embed)."""
    codes = encode(model, x[idx.to(x.device)]).cpu().numpy()
    if np.ptp(codes, axis=0).max() < 1e-12:
        note = "skipped: every image has the same code (the network collapsed)"
        print(f"warning: t-SNE {note}", file=sys.stderr)
        return note
    coords = tsne_2d(codes, seed)
    labels = labels[idx].numpy()
    np.savez(folder / "tsne_codes.npz", indices=idx.numpy(), labels=labels, codes=codes,
             coords=coords)
    plot_tsne(coords, labels, title, folder / "tsne.png")


# ----------------------------------------------------------------------------- the run's steps

def prepare(args, device):
    """Data, the fixed test inputs, the ten shown images and the t-SNE sample. Everything that
    can fail on the data is settled here, before training, so that no run is lost at its end."""
    x_train, _, x_test, y_test = fashion_mnist.load(args)
    x_test_in = x_test
    if args.mode == "denoise":
        # Q3a: the test inputs are noised once, on the CPU, from one documented seed that every
        # run and every analysis shares; training noise is fresh for every batch.
        x_test_in = add_white_noise(x_test, args.noise_std,
                                    torch.Generator().manual_seed(TEST_NOISE_SEED))
    shown = first_of_each_class(y_test)
    tsne_idx = (stratified_indices(y_test, args.tsne_samples, args.seed)
                if args.tsne_samples else None)
    name = ("Denoising autoencoder" if args.mode == "denoise" else "Autoencoder") + (
        f" ({args.variant})" if vars(args).get("variant") else "")  # analyses/variants.py's
    return SimpleNamespace(x_train=x_train.to(device), x_test=x_test.to(device),
                           x_test_in=x_test_in.to(device), y_test=y_test, shown=shown,
                           titles=[CLASS_NAMES[int(y_test[i])] for i in shown],
                           tsne_idx=tsne_idx, name=name)


def check_finite(loss, what, epoch, args):  # a diverged run stops before it publishes
    if not math.isfinite(loss):
        raise UsageError(f"training diverged: the {what} loss is {loss} at epoch {epoch} "
                         f"(--lr {args.lr:g}, --weight-decay {args.weight_decay:g}); nothing "
                         f"was published. Try a smaller --lr.")


def train(args, model, data, device, stage):
    """Q2c/Q3a: Adam on the MSE for args.epochs; test loss and the figure of the ten shown
    images (Q2d, Q3b) at epoch 0, every --eval-every epochs and after the last one."""
    denoise = args.mode == "denoise"
    loss_fn = nn.MSELoss()  # Q2b: mean over pixels and images
    optimizer = make_optimizer(model, args.lr, args.weight_decay)
    shuffle_gen = torch.Generator().manual_seed(args.seed)
    noise_gen = torch.Generator(device=device).manual_seed(args.seed + 2)
    history, snapshots, tested = [], [], {}  # snapshots: (epoch, recon) for the evolution figure

    def test_and_plot(epoch):
        loss = evaluate(model, data.x_test_in, data.x_test)
        check_finite(loss, "test", epoch, args)
        recon = model(data.x_test_in[data.shown]).detach()  # in eval mode since evaluate()
        snapshots.append((epoch, recon))
        rows = [("noisy input" if denoise else "input", data.x_test_in[data.shown]),
                ("reconstruction", recon)] + [("original", data.x_test[data.shown])] * denoise
        plot_image_rows(rows, data.titles, f"{data.name}, epoch {epoch}: test MSE {loss:.4f}",
                        stage / f"recon_epoch{epoch:03d}.png")
        # Is the network alive? On the clean test images, the denoiser's also on its inputs.
        inputs = [("", data.x_test)] + [("_noisy", data.x_test_in)] * denoise
        return {"test_loss": loss, **{f"{k}{suffix}": v for suffix, x in inputs
                                      for k, v in network_health(model, x).items()}}

    optimizer, captured = cuda_graph.captured_training(  # on a GPU: a step is one CUDA graph
        model, optimizer, args, loss_fn, data.x_train, noise_gen) if device.type == "cuda" else (
        optimizer, None)
    for epoch in range(args.epochs + 1):  # epoch 0: the untrained network is tested
        publishing.stop_if_asked()  # a swallowed Ctrl+C or SIGTERM stops here, not at the end
        t0, train_loss = time.perf_counter(), None
        if epoch:
            train_loss = captured.epoch(shuffle_gen) if captured else train_epoch(
                model, optimizer, loss_fn, data.x_train, args.batch_size, shuffle_gen,
                args.noise_std if denoise else 0.0, noise_gen)
            check_finite(train_loss, "training", epoch, args)
        t1 = time.perf_counter()
        # Epoch 0 is always tested, so `tested` has its columns before any blank row needs them.
        tested = (test_and_plot(epoch) if epoch % args.eval_every == 0 or epoch == args.epochs
                  else dict.fromkeys(tested))
        t2 = time.perf_counter()
        history.append({"epoch": epoch, "train_loss": train_loss, **tested,
                        "train_seconds": round(t1 - t0, 4) if epoch else None,
                        "epoch_seconds": round(t2 - t0, 4) if epoch else None})
        first = model.g.net[0]  # h -> the decoder's first layer: 8 -> 8 in the sheet's network
        live = (f"live units: code {tested['live_code_units']}/{first.in_features}, decoder's "
                f"first layer {tested['live_decoder_units']}/{first.out_features}"
                ) if tested["test_loss"] is not None else ""
        print(f"epoch {epoch:3d}/{args.epochs}  " + (f"train {train_loss:.5f}  " if epoch else "")
              + (f"test {tested['test_loss']:.5f}  {live}" if live else "")
              + (f"  ({t1 - t0:.2f} s training, {t2 - t0:.2f} s in all)" if epoch else ""),
              flush=True)
        if epoch == 0 and not tested["output_varies"]:
            print(f"note: the network starts dead: one output image for every input ({live})")
    return history, snapshots


def write_csv(rows, path):
    def write(path):
        with open(path, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows({k: ("" if v is None else v) for k, v in row.items()} for row in rows)
    publishing.written(path, write)


def write_outputs(args, model, data, history, snapshots, stage, device, train_time):
    """Everything a run leaves besides the per-evaluation figures: losses (Q2c), the evolution
    figure (Q2d), the t-SNE map of the codes (Q2e, Q3c), the weights and metrics.json."""
    denoise = args.mode == "denoise"
    write_csv(history, stage / "losses.csv")
    plot_losses(history, data.name, "test, noisy input" if denoise else "test",
                stage / "loss_curve.png")
    rows = ([("noisy input", data.x_test_in[data.shown])] if denoise else []) + [
        ("original", data.x_test[data.shown])] + [(f"epoch {e}", r) for e, r in snapshots]
    plot_image_rows(rows, data.titles, f"{data.name}: reconstructions of ten test images "
                    f"during training", stage / "recon_evolution.png")
    t0, tsne_seconds, tsne_note = time.perf_counter(), None, None
    if data.tsne_idx is not None:  # Q2e, Q3c
        title = (f"{data.name}: t-SNE of the {model.g.net[0].in_features}-d code of "
                 f"{args.tsne_samples} test images")
        tsne_note = embed_codes(model, data.x_test, data.y_test, data.tsne_idx, args.seed, title,
                                stage)
        tsne_seconds = round(time.perf_counter() - t0, 2)
    weights = io.BytesIO()  # torch.save on a full disk raises an unreadable RuntimeError
    torch.save(model.state_dict(), weights)
    publishing.written(stage / "model.pt", lambda p: p.write_bytes(weights.getvalue()))
    tested = [row for row in history if row["test_loss"] is not None]
    metrics = {
        "mode": args.mode, "config": {k: v for k, v in vars(args).items() if k not in (
            "data_dir", "out_dir", "mirror")},
        "test_noise_seed": TEST_NOISE_SEED if denoise else None,
        "device": str(device), "torch_threads": torch.get_num_threads(),
        "train_images": len(data.x_train), "test_images": len(data.x_test),
        "final_train_loss": history[-1]["train_loss"], "final_test_loss": history[-1]["test_loss"],
        "test_loss_by_epoch": {r["epoch"]: r["test_loss"] for r in tested},
        "dead_at_start": not history[0]["output_varies"],
        "health_by_epoch": {r["epoch"]: {k: v for k, v in r.items() if k.startswith(
            ("live", "output"))} for r in tested},
        "seconds": {"training_and_evaluation": round(train_time, 2), "tsne": tsne_seconds,
                    "train_epoch_median": round(statistics.median(
                        row["train_seconds"] for row in history[1:]), 4)}, "tsne_note": tsne_note,
        "versions": {"python": platform.python_version(), "torch": torch.__version__, "cuda":
                     torch.version.cuda, **{name: importlib.metadata.version(name) for name in (
                         "numpy", "matplotlib", "scikit-learn")}},
        "platform": platform.platform()}
    publishing.written(stage / "metrics.json",
                       lambda p: p.write_text(json.dumps(metrics, indent=2) + "\n"))
    return metrics


def run(args, make_model=AutoEncoder):  # analyses/variants.py passes other networks
    final_dir, made = check_args(args)
    try:
        train_and_publish(args, make_model, final_dir)
    except BaseException:  # a failed or stopped run leaves no empty --out-dir behind
        publishing.remove_if_empty(made)
        raise


def train_and_publish(args, make_model, final_dir):
    set_seeds(args.seed)
    # Dead ReLU units' weights and Adam statistics decay into denormals, slow on many CPUs.
    torch.set_flush_denormal(True)
    device = torch.device(args.device)
    data = prepare(args, device)
    print(f"{args.mode} autoencoder on {device}: {len(data.x_train)} training and "
          f"{len(data.x_test)} test images, {args.epochs} epochs")
    model = make_model().to(device)
    with publishing.staged(final_dir) as stage:  # published whole, or not at all
        started = time.perf_counter()
        history, snapshots = train(args, model, data, device, stage)
        train_time = time.perf_counter() - started
        metrics = write_outputs(args, model, data, history, snapshots, stage, device, train_time)
    if publishing.interrupted():  # the stop came during the publish, which then finished
        raise SystemExit(f"interrupted: the run had finished; it is published whole in "
                         f"{final_dir}")
    print(f"done in {time.perf_counter() - STARTED:.1f} s ({train_time:.1f} s training and "
          f"evaluation); final test MSE {metrics['final_test_loss']:.5f}; outputs in {final_dir}")


def main(argv=None):
    args = build_parser().parse_args(argv)
    untouched = f"nothing was published; earlier results in {args.out_dir / args.mode} stay"
    publishing.handle_signals()  # Ctrl+C and `kill`: clean up, publish nothing
    publishing.end_with_parent()  # started by seeds or reproduce.py: stop when they die
    try:
        run(args)
        return 0
    except USER_ERRORS as err:
        print(f"error: {err}", file=sys.stderr)
    except OSError as err:  # a full disk, a folder removed under the run, ...
        print(f"error: {err.filename or ''}: {err.strerror or err}; {untouched}", file=sys.stderr)
    except KeyboardInterrupt:
        print(f"\ninterrupted: {untouched}", file=sys.stderr)
        return 130
    return 1


if __name__ == "__main__":
    sys.exit(main())
