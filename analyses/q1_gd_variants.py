"""Evidence for Q1: batch, mini-batch and stochastic gradient descent on the sheet's autoencoder.

    python -m analyses q1        # about 2.5 minutes on 2 CPU cores; writes figures/q1/

All three variants minimise the same objective (the MSE over a fixed subset of training
images) with plain SGD (no momentum, no weight decay), from the same initial weights, and
differ only in how many images each gradient step sees: all of them (batch GD), 128
(mini-batch GD, the sheet's batch size) or 1 (stochastic GD).

Fairness: each variant gets the same wall-clock budget, and its learning rate is the best of
one grid for it: every learning rate of --lr-grid trains for a fixed number of steps
(--pilot-steps, about the same compute for each variant) from the same start, and the one with
the lowest subset loss at the end wins (diverged runs lose). The pilot counts steps, not
seconds, so the choice does not depend on the machine's speed at that moment. The
training loss on the whole subset is recorded against samples processed and against
seconds of training (time spent measuring the loss is not counted).
"""

import csv
import json
import math
import shutil
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

import ex09
from fashion_mnist import load_split

VARIANTS = (("batch", None), ("mini-batch", 128), ("stochastic", 1))  # None: the whole subset
COLOURS = {"batch": "tab:blue", "mini-batch": "tab:green", "stochastic": "tab:red"}


@torch.no_grad()
def subset_loss(model, x):
    return float(nn.functional.mse_loss(model(x), x))


def train_for(model, x, batch_size, lr, seed, seconds=math.inf, max_steps=None, n_logs=60):
    """Plain SGD for `seconds` of training time or `max_steps` steps, whichever ends first;
    returns [(steps, samples, seconds, loss)], logged every seconds/n_logs and at geometrically
    spaced steps (for log-scale axes), and at the end."""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    loss_fn = nn.MSELoss()
    gen = torch.Generator().manual_seed(seed)
    n = len(x)
    log = [(0, 0, 0.0, subset_loss(model, x))]
    steps = samples = 0
    clock = 0.0
    next_log = seconds / n_logs
    next_step_log = 1.0
    max_steps = max_steps or math.inf
    while True:
        order = torch.randperm(n, generator=gen)
        for start in range(0, n, batch_size):
            t0 = time.perf_counter()
            batch = x[order[start:start + batch_size]]
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model(batch), batch).backward()
            optimizer.step()
            clock += time.perf_counter() - t0
            steps += 1
            samples += len(batch)
            done = clock >= seconds or steps >= max_steps
            if done or clock >= next_log or (n_logs > 1 and steps >= next_step_log):
                log.append((steps, samples, clock, subset_loss(model, x)))
                while next_log <= clock:
                    next_log += seconds / n_logs
                while next_step_log <= steps:
                    next_step_log *= 1.25
                if done or not math.isfinite(log[-1][3]):
                    return log


def choose_lr(x, batch_size, grid, pilot_steps, seed):
    """Every lr of the grid for pilot_steps steps from the same start; lowest final loss wins.

    A fixed number of steps (not seconds) keeps the choice independent of how fast the
    machine happens to be."""
    pilots = {}
    for lr in grid:
        torch.manual_seed(seed)
        final = train_for(ex09.AutoEncoder(), x, batch_size, lr, seed, max_steps=pilot_steps,
                          n_logs=1)[-1][3]
        pilots[lr] = final if math.isfinite(final) else float("inf")
    return min(pilots, key=pilots.get), pilots


def plot(curves, chosen, mean_image_loss, path, n_images):
    plt = ex09._matplotlib()
    fig, (left, right) = plt.subplots(1, 2, figsize=(12.0, 4.6), sharey=True)
    for name, log in curves.items():
        steps, samples, seconds, losses = zip(*log[1:])  # log axes: from the first step on
        label = f"{name} (batch {chosen[name]['batch_size']}, lr {chosen[name]['lr']:g})"
        left.plot(samples, losses, color=COLOURS[name], label=label)
        right.plot(seconds, losses, color=COLOURS[name], label=label)
    for ax in (left, right):
        ax.axhline(mean_image_loss, color="black", linestyle="--", linewidth=1,
                   label="output = mean training image")
        ax.set_xscale("log")
    left.set_xlabel("training samples processed (log scale)")
    right.set_xlabel("training time in s (log scale; measuring excluded)")
    left.set_ylabel(f"MSE on all {n_images} training images")
    left.set_title("Loss per sample processed")
    right.set_title("Loss per second of compute")
    for ax in (left, right):
        ax.set_yscale("log")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=9)
    fig.suptitle("Q1: batch vs mini-batch vs stochastic gradient descent (plain SGD, same "
                 "start, same time budget)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def build_parser(parser):
    parser.add_argument("--data-dir", type=ex09.user_path, default=ex09.HERE / "data",
                        help="root holding FashionMNIST/raw/")
    parser.add_argument("--out-dir", type=ex09.user_path, default=ex09.HERE / "figures",
                        help="results go to <out-dir>/q1/")
    parser.add_argument("--subset", type=ex09.positive_int, default=2000,
                        help="the first N training images form the fixed training set")
    parser.add_argument("--seconds", type=ex09.positive_float, default=20.0,
                        help="training-time budget of each variant's main run")
    parser.add_argument("--pilot-steps", type=ex09.positive_int, nargs=3, default=[60, 600, 2000],
                        metavar=("BATCH", "MINI", "STOCHASTIC"),
                        help="steps of each learning-rate pilot for batch, mini-batch and "
                             "stochastic GD (about 1.5 s of compute each on 2 cores)")
    parser.add_argument("--lr-grid", type=ex09.positive_float, nargs="+", default=[3.0, 1.0, 0.3, 0.1, 0.03],
                        help="learning rates tried for each variant")
    parser.add_argument("--seed", type=ex09.seed_int, default=0,
                        help="initial weights and shuffling")
    parser.add_argument("--skip-md5", action="store_true",
                        help="accept non-official data files (format still checked)")


def run(args):
    started = time.perf_counter()
    torch.set_flush_denormal(True)  # as in ex09.py: steady step times
    args.out_dir.mkdir(parents=True, exist_ok=True)
    x, _ = load_split(args.data_dir, "train", verify_md5=not args.skip_md5)
    x = x[:args.subset]
    curves, chosen = {}, {}
    for (name, batch_size), pilot_steps in zip(VARIANTS, args.pilot_steps):
        batch_size = batch_size or len(x)
        lr, pilots = choose_lr(x, batch_size, args.lr_grid, pilot_steps, args.seed)
        torch.manual_seed(args.seed)  # the same initial weights for every variant
        log = train_for(ex09.AutoEncoder(), x, batch_size, lr, args.seed, seconds=args.seconds)
        steps, samples, seconds, loss = log[-1]
        chosen[name] = {"batch_size": batch_size, "lr": lr, "pilot_steps": pilot_steps,
                        "pilot_final_loss": {str(k): v for k, v in pilots.items()},
                        "steps": steps, "samples": samples, "seconds": seconds,
                        "epochs": samples / len(x), "initial_loss": log[0][3],
                        "final_loss": loss, "samples_per_second": samples / seconds,
                        "steps_per_second": steps / seconds}
        curves[name] = log
        print(f"{name:10s} batch {batch_size:5d}  lr {lr:<5g}  {steps:7d} steps  "
              f"{samples / len(x):7.1f} epochs  {samples / seconds:9.0f} samples/s  "
              f"loss {log[0][3]:.4f} -> {loss:.4f}", flush=True)

    stage = Path(tempfile.mkdtemp(prefix=".q1.partial-", dir=args.out_dir))
    try:
        write_results(args, x, curves, chosen, stage, started)
        ex09.publish(stage, args.out_dir / "q1")
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    print(f"done in {time.perf_counter() - started:.1f} s; written to {args.out_dir / 'q1'}")


def write_results(args, x, curves, chosen, stage, started):
    mean_image_loss = float(((x - x.mean(dim=0)) ** 2).mean())
    plot(curves, chosen, mean_image_loss, stage / "q1_gd_variants.png", len(x))
    with open(stage / "q1_curves.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["variant", "steps", "samples", "seconds", "subset_loss"])
        for name, log in curves.items():
            writer.writerows([name, *row] for row in log)
    summary = {"subset": len(x), "seconds_budget": args.seconds,
               "mean_image_loss": mean_image_loss,
               "pilot_steps": args.pilot_steps, "lr_grid": args.lr_grid, "seed": args.seed,
               "variants": chosen, "wall_seconds": round(time.perf_counter() - started, 1)}
    (stage / "q1_results.json").write_text(json.dumps(summary, indent=2) + "\n")
