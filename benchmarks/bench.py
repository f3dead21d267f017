"""How close is ex09.py's training to this machine's floor, and how far ahead of the usual
tutorial pipeline? One process, one machine, medians over interleaved repeats.

    python benchmarks/bench.py                 # full measurement, about 7 minutes on 2 cores
    python benchmarks/bench.py --help          # sizes, repeats, what to skip

Measured, all on the sheet's model, Adam and batch 128:
  floor     bare training steps on batches already in memory (no shuffling, no logging)
  project   one training epoch through ex09.py's own load_split / make_optimizer / train_epoch
  tutorial  DataLoader over a map-style dataset (uint8 -> PIL image -> float tensor ->
            normalise, as torchvision's ToTensor + Normalize), shuffled, plus the test loss
            every epoch in batches of 10, as the course template did
  drift     epoch time at the start of training versus after continued training, with and
            without flushing denormal floats to zero, each epoch paired with an epoch of a
            fresh model as a control for the machine's own speed changes
  rss       peak resident memory of a full `ex09.py --mode plain` run (a child process)
Epoch times are scaled to seconds per 60,000 samples, so sizes can be reduced for a quick run.
"""

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import ex09  # noqa: E402
import publishing  # noqa: E402
import fashion_mnist as fm  # noqa: E402

FULL_EPOCH = 60000


def bare_steps(model, optimizer, batches):
    """The floor: forward, MSE, backward, Adam step, nothing else."""
    loss_fn = nn.MSELoss()
    for batch in batches:
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model(batch), batch).backward()
        optimizer.step()


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def fresh(seed=0, optimizer=ex09.make_optimizer):
    torch.manual_seed(seed)
    model = ex09.AutoEncoder()
    return model, optimizer(model, 1e-3, 1e-5)


def default_adam(model, lr, weight_decay):
    """What a tutorial writes: torch's default (foreach) Adam."""
    return torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)


class PILDataset(torch.utils.data.Dataset):
    """The tutorial path, one image at a time: uint8 -> PIL -> float in [0, 1] -> normalise."""

    def __init__(self, images, labels):
        self.images, self.labels = images, labels

    def __len__(self):
        return len(self.images)

    def __getitem__(self, index):
        from PIL import Image
        image = Image.fromarray(self.images[index], mode="L")
        x = torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0)  # ToTensor
        x = (x - 0.5) / 0.5  # Normalize((0.5,), (0.5,)) -> [-1, 1]
        return x.view(-1), int(self.labels[index])


def tutorial_epoch(model, optimizer, train_set, test_set, generator):
    """One tutorial-style epoch; returns (training seconds, test-pass seconds)."""
    loss_fn = nn.MSELoss()
    loader = torch.utils.data.DataLoader(train_set, batch_size=128, shuffle=True,
                                         generator=generator)
    start = time.perf_counter()
    model.train()
    for x, _ in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(x), x)
        loss.backward()
        optimizer.step()
    middle = time.perf_counter()
    model.eval()
    total = 0.0
    with torch.no_grad():
        for x, _ in torch.utils.data.DataLoader(test_set, batch_size=10):
            total += loss_fn(model(x), x).item() * len(x)
    return middle - start, time.perf_counter() - middle


def uint8_split(data_dir, split, limit, verify_md5):
    fm.load_split(data_dir, split, verify_md5=verify_md5)  # all the checks, same as ex09.py
    raw = fm.raw_dir(data_dir)
    images = fm.read_idx(raw / fm.FILES[split]["images"][0], fm.IDX_IMAGES_MAGIC, (None, 28, 28))
    labels = fm.read_idx(raw / fm.FILES[split]["labels"][0], fm.IDX_LABELS_MAGIC, (None,))
    return images[:limit], labels[:limit]


def drift(data_dir, limit, verify_md5, epochs, flush):
    """Per-epoch seconds of one model trained on and on, each epoch followed by an epoch of a
    freshly initialised model as a control: the control shows how fast the machine was at that
    moment, so a slow phase of a shared machine is not mistaken for drift.

    Runs in a fresh process (see main) because the denormal setting must be made before
    PyTorch starts its worker threads, which copy it from the main thread."""
    torch.set_flush_denormal(flush)
    x_train = fm.load_split(data_dir, "train", verify_md5=verify_md5)[0][:limit]
    model, optimizer = fresh()
    gen = torch.Generator().manual_seed(0)
    continued, control = [], []
    for epoch in range(epochs):
        continued.append(timed(lambda: ex09.train_epoch(model, optimizer, nn.MSELoss(), x_train,
                                                        128, gen)))
        other, other_optimizer = fresh(seed=epoch + 1)
        control.append(timed(lambda: ex09.train_epoch(other, other_optimizer, nn.MSELoss(),
                                                      x_train, 128, gen)))
    early, late = statistics.median(continued[:5]), statistics.median(continued[-5:])
    early_control, late_control = statistics.median(control[:5]), statistics.median(control[-5:])
    # Measured, not assumed: with flushing on, a denormal product comes out as exactly zero.
    flushed = bool((torch.tensor([1e-39]) * 1.0).item() == 0.0)
    return {"epochs": epochs, "flush_denormal": flush, "denormals_flushed": flushed,
            "early_s": early, "late_s": late,
            "late_over_early": late / early,
            "late_over_early_vs_control": (late / late_control) / (early / early_control),
            "continued_s": continued, "control_s": control}


def peak_rss_of_plain_run(args):
    """Peak RSS (MB) of `ex09.py --mode plain` with the given epochs, via the child's rusage."""
    import resource
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, str(ROOT / "ex09.py"), "--mode", "plain", "--epochs",
                   str(args.rss_epochs), "--data-dir", str(args.data_dir), "--out-dir", out]
        if args.train_limit:
            command += ["--train-limit", str(args.train_limit)]
        if args.skip_md5:
            command += ["--skip-md5", "--tsne-samples", "20"]
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        wall = time.perf_counter() - start
    if done.returncode:  # a full temporary folder, say: one line, no results written
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise ex09.UsageError(f"the {args.rss_epochs}-epoch plain run that --rss-epochs measures "
                              f"failed (exit {done.returncode}: {last[:200]}); no results "
                              f"written")
    kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # kilobytes on Linux
    return kb / 1024, wall


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--data-dir", type=ex09.user_path, default=ROOT / "data",
                        help="root holding FashionMNIST/raw/")
    parser.add_argument("--repeats", type=ex09.positive_int, default=5,
                        help="repeats of floor and project epochs (interleaved); median reported")
    parser.add_argument("--tutorial-repeats", type=ex09.positive_int, default=3,
                        help="repeats of the tutorial epoch")
    parser.add_argument("--drift-epochs", type=ex09.positive_int, default=25,
                        help="epochs of continued training for the drift figure (>= 10)")
    parser.add_argument("--rss-epochs", type=ex09.non_negative_int, default=50,
                        help="epochs of the full plain run whose peak RSS is measured; 0 skips it")
    parser.add_argument("--train-limit", type=ex09.positive_int, default=None,
                        help="use only the first N training images (quick check)")
    parser.add_argument("--skip-md5", action="store_true",
                        help="accept non-official data files (for the test suite's tiny data)")
    parser.add_argument("--json", type=ex09.user_path, default=None,
                        help="also write the results here")
    args = parser.parse_args(argv)
    if args.json is not None:  # found now, not after all the minutes of measuring
        publishing.check_writable(args.json, ".json")

    torch.set_flush_denormal(True)  # as ex09.py does
    x_train, _ = fm.load_split(args.data_dir, "train", verify_md5=not args.skip_md5)
    x_train = x_train[:args.train_limit]
    n = len(x_train)
    scale = FULL_EPOCH / n  # report seconds per 60,000 samples
    batches = list(x_train.split(128))
    loss_fn = nn.MSELoss()
    print(f"{n} training images, torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{platform.processor() or platform.machine()}")

    # Floor (fused Adam as ex09.py uses, and torch's default Adam) and the project epoch,
    # interleaved so that slow phases of a shared machine hit each equally.
    model, optimizer = fresh()
    bare_steps(model, optimizer, batches[:20])  # warm-up: first calls allocate and dispatch
    floor, floor_default, floor_one_thread, project = [], [], [], []
    gen = torch.Generator().manual_seed(0)
    threads = torch.get_num_threads()
    for _ in range(args.repeats):
        model, optimizer = fresh()
        floor.append(timed(lambda: bare_steps(model, optimizer, batches)) * scale)
        if threads > 1:  # does the default thread count (one per core) pay off?
            torch.set_num_threads(1)
            model, optimizer = fresh()
            floor_one_thread.append(timed(lambda: bare_steps(model, optimizer, batches)) * scale)
            torch.set_num_threads(threads)
        model, optimizer = fresh(optimizer=default_adam)
        floor_default.append(timed(lambda: bare_steps(model, optimizer, batches)) * scale)
        model, optimizer = fresh()
        project.append(timed(lambda: ex09.train_epoch(model, optimizer, loss_fn, x_train, 128,
                                                        gen)) * scale)
    results = {"floor_runs_s": floor, "floor_default_adam_runs_s": floor_default,
               "floor_one_thread_runs_s": floor_one_thread,
               "floor_one_thread_s": statistics.median(floor_one_thread) if floor_one_thread else None,
               "project_runs_s": project, "floor_s": statistics.median(floor),
               "floor_default_adam_s": statistics.median(floor_default),
               "project_s": statistics.median(project)}
    print(f"floor    {results['floor_s']:.3f} s / 60k samples  (fused Adam; torch's default "
          f"Adam: {results['floor_default_adam_s']:.3f} s)")
    if floor_one_thread:
        print(f"floor    {results['floor_one_thread_s']:.3f} s / 60k samples with 1 thread instead "
              f"of {threads}")
    print(f"project  {results['project_s']:.3f} s / 60k samples  "
          f"project/floor {results['project_s'] / results['floor_s']:.3f}")

    images, labels = uint8_split(args.data_dir, "train", args.train_limit, not args.skip_md5)
    test_images, test_labels = uint8_split(args.data_dir, "test", None, not args.skip_md5)
    train_set, test_set = PILDataset(images, labels), PILDataset(test_images, test_labels)
    tutorial_train, tutorial_test = [], []
    for _ in range(args.tutorial_repeats):
        model, optimizer = fresh(optimizer=default_adam)
        train_s, test_s = tutorial_epoch(model, optimizer, train_set, test_set,
                                         torch.Generator().manual_seed(0))
        tutorial_train.append(train_s * scale)
        tutorial_test.append(test_s)  # the full test set either way: not scaled
    results["tutorial_train_s"] = statistics.median(tutorial_train)
    results["tutorial_test_pass_s"] = statistics.median(tutorial_test)
    results["tutorial_s"] = results["tutorial_train_s"] + results["tutorial_test_pass_s"]
    print(f"tutorial {results['tutorial_s']:.3f} s / epoch ({results['tutorial_train_s']:.3f} s "
          f"training, {results['tutorial_test_pass_s']:.3f} s test pass)  "
          f"tutorial/project {results['tutorial_s'] / results['project_s']:.2f}")

    import multiprocessing
    epochs = max(args.drift_epochs, 10)
    context = multiprocessing.get_context("spawn")
    for flush in (True, False):
        with context.Pool(1) as pool:
            result = pool.apply(drift, (args.data_dir, args.train_limit, not args.skip_md5,
                                        epochs, flush))
        key = "drift" if flush else "drift_without_flush_denormal"
        results[key] = result
        print(f"drift    epochs 1-5 {result['early_s'] * scale:.3f} s, epochs {epochs - 4}-{epochs} "
              f"{result['late_s'] * scale:.3f} s  late/early {result['late_over_early']:.3f}, "
              f"against the fresh-model control {result['late_over_early_vs_control']:.3f}"
              + ("" if flush else "  (denormals not flushed, for comparison)"), flush=True)

    if args.rss_epochs:
        try:
            rss_mb, wall = peak_rss_of_plain_run(args)
            results["plain_run"] = {"peak_rss_mb": rss_mb, "wall_s": wall, "epochs": args.rss_epochs}
            print(f"rss      peak {rss_mb:.0f} MB for a {args.rss_epochs}-epoch plain run "
                  f"({wall:.0f} s)")
        except ImportError:
            print("rss      not measured: the resource module is Unix-only")

    results["machine"] = {"cores": torch.get_num_threads(), "cpu": cpu_model(),
                          "torch": torch.__version__, "python": platform.python_version()}
    if args.json:
        publishing.write_atomically(args.json, json.dumps(results, indent=2) + "\n", ".json")
    return results


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


if __name__ == "__main__":
    publishing.handle_signals()  # Ctrl+C and `kill`: stop, write nothing
    publishing.end_with_parent()  # started by tools/reproduce.py: stop when it dies
    try:
        main()
    except ex09.USER_ERRORS as err:  # a bad --data-dir, a --json that cannot be written
        sys.exit(f"error: {err}")
    except OSError as err:
        sys.exit(f"error: {err.filename or ''}: {err.strerror or err}; no results written")
    except KeyboardInterrupt:
        sys.exit("\ninterrupted: no results written")
