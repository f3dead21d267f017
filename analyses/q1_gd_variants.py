"""Evidence for Q1: batch, mini-batch and stochastic gradient descent towards a known optimum.

    python -m analyses q1        # about 4 minutes on 2 CPU cores; writes figures/q1/

The model is a linear autoencoder with an 8-d code and biases, x -> W2 (W1 x + b1) + b2, on
the first --subset training images, centred. Its lowest possible MSE is known exactly: the error of
projecting the centred images onto their 8 leading principal components (PCA-8 fitted on
exactly these images), so every curve can be drawn as its distance to the optimum. (The
sheet's own network is no good for this: at seed 0 it starts dead, and plain SGD did not
revive it within 3 epochs; see python -m analyses revival.)

All three variants run plain SGD (no momentum, no weight decay) on the same MSE from the same
initial weights and differ only in the batch: all --subset images (batch GD), 128 (mini-batch,
the sheet's) or 1 (stochastic). Each gets the same training time (--seconds; time spent
measuring the loss is not counted), for --seeds seeds. Learning rates: factor-2 grids, each run
for the same time at a separate tuning seed; the lowest final loss wins, and a grid whose best
value is at its edge is extended until it is not (diverged runs lose).

Each variant is also started at the optimum (the PCA-8 solution, where the full gradient is zero)
for --floor-seconds: the excess loss it settles at is its noise floor. Gradient noise is measured
directly: at the initial weights and at the optimum, E||g_B - g||^2 over random batches of size B (without replacement) against the exact
value tr(Sigma)/B * (N - B)/(N - 1) from the per-example gradients; next to it the time one
step of batch B costs.
"""

import csv
import json
import math
import statistics
import time

import torch
from torch import nn

import ex09
import publishing
from fashion_mnist import load_split

VARIANTS = (("batch", None), ("mini-batch", 128), ("stochastic", 1))  # None: the whole subset
COLOURS = {"batch": "tab:blue", "mini-batch": "tab:green", "stochastic": "tab:red"}
CODE = 8
TUNING_SEED = 100  # the learning rates are chosen at a seed that is not shown
NOISE_BATCHES = (1, 4, 16, 64, 256, 1024)
# Far above every rate that converges here (the chosen ones lie between 2^-5 and 2); much
# larger ones overflow float32 in the very first step. The grid is not extended past it.
MAX_LR = 1e6


def linear_autoencoder(seed):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(784, CODE), nn.Linear(CODE, 784))


def pca_optimum(x):
    """The lowest MSE any linear autoencoder with a CODE-d code and biases reaches on x."""
    centred = x.double() - x.double().mean(dim=0)
    singular = torch.linalg.svdvals(centred)
    return float((singular[CODE:] ** 2).sum() / centred.numel())


@torch.no_grad()
def full_loss(model, x):
    return float(nn.functional.mse_loss(model(x), x))


def train_for(model, x, batch_size, lr, seed, seconds, n_logs=80):
    """Plain SGD for `seconds` of training time; returns [(steps, samples, seconds, loss)],
    logged every seconds/n_logs and at geometrically spaced steps (for log axes)."""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    log = [(0, 0, 0.0, full_loss(model, x))]
    steps = samples = 0
    clock, next_log, next_step_log = 0.0, seconds / n_logs, 1.0
    while True:
        order = torch.randperm(len(x), generator=gen)
        for start in range(0, len(x), batch_size):
            t0 = time.perf_counter()
            batch = x[order[start:start + batch_size]]
            optimizer.zero_grad(set_to_none=True)
            nn.functional.mse_loss(model(batch), batch).backward()
            optimizer.step()
            clock += time.perf_counter() - t0
            steps, samples = steps + 1, samples + len(batch)
            done = clock >= seconds
            if done or clock >= next_log or steps >= next_step_log:
                log.append((steps, samples, clock, full_loss(model, x)))
                next_log = max(next_log, clock) + seconds / n_logs
                next_step_log = max(next_step_log * 1.25, steps + 1)
                if done or not math.isfinite(log[-1][3]):
                    return log


def choose_lr(x, batch_size, seconds, start_grid):
    """The factor-2 grid's lr with the lowest loss after `seconds` at TUNING_SEED, the grid
    extended while its best value is at an edge (at most 6 times)."""
    results = {}
    grid = sorted(start_grid)
    for _ in range(7):
        for lr in grid:
            if lr not in results:
                final = train_for(linear_autoencoder(TUNING_SEED), x, batch_size, lr,
                                  TUNING_SEED, seconds, n_logs=1)[-1][3]
                results[lr] = final if math.isfinite(final) else math.inf
        best = min(results, key=lambda lr: (results[lr], lr))  # all diverged: the smallest
        if best == grid[0]:
            grid = [grid[0] / 2] + grid
        elif best == grid[-1] and grid[-1] * 2 <= MAX_LR:
            grid = grid + [grid[-1] * 2]
        elif best == grid[-1]:
            return best, results, True
        else:
            return best, results, False
    return best, results, True


def flat_grad(model, x):
    model.zero_grad(set_to_none=True)
    nn.functional.mse_loss(model(x), x).backward()
    return torch.cat([p.grad.flatten() for p in model.parameters()])


def gradient_noise(model, x, repeats, seed):
    """Per batch size B: measured E||g_B - g||^2 (random batches), its exact value from the
    per-example gradients, ||g||^2, and the median time of one SGD step of batch B."""
    from torch.func import functional_call, grad, vmap
    params = {k: v.detach() for k, v in model.named_parameters()}

    def one_loss(p, xi):
        out = functional_call(model, p, (xi[None],))
        return nn.functional.mse_loss(out, xi[None])

    per_example = vmap(grad(one_loss), in_dims=(None, 0))(params, x)
    per_example = torch.cat([g.flatten(1) for g in per_example.values()], dim=1)
    full = per_example.mean(dim=0)
    trace = float(((per_example - full) ** 2).sum(dim=1).mean())  # tr(Sigma), population
    n, gen, rows = len(x), torch.Generator().manual_seed(seed), []
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)  # a timed step that moves nothing
    for b in (*[b for b in NOISE_BATCHES if b < n], n):
        errors, times = [], []
        for _ in range(repeats if b < n else 5):
            idx = torch.randperm(n, generator=gen)[:b]
            batch = x[idx]
            errors.append(float(((flat_grad(model, batch) - full) ** 2).sum()))
            t0 = time.perf_counter()
            optimizer.zero_grad(set_to_none=True)
            nn.functional.mse_loss(model(batch), batch).backward()
            optimizer.step()
            times.append(time.perf_counter() - t0)
        rows.append({"batch_size": b, "measured_noise": statistics.fmean(errors),
                     "exact_noise": trace / b * (n - b) / (n - 1),
                     "full_gradient_sq": float((full ** 2).sum()),
                     "seconds_per_step": statistics.median(times)})
    return rows


def at_optimum(x, seed):
    """The linear autoencoder set to the PCA-8 solution of the centred x: its loss is optimal
    and its full gradient zero, so whatever SGD does from here is its noise."""
    model = linear_autoencoder(seed)
    components = torch.linalg.svd(x, full_matrices=False).Vh[:CODE]
    with torch.no_grad():
        model[0].weight.copy_(components)
        model[1].weight.copy_(components.T)
        model[0].bias.zero_()
        model[1].bias.zero_()
    return model


def plot(curves, floors, chosen, noise, optimum, path):
    plt = ex09._matplotlib()
    fig, axes = plt.subplots(2, 3, figsize=(6.5, 4.6))
    (by_samples, by_seconds, floor_ax), (noise_ax, cost_ax, legend_ax) = axes
    for name in curves:
        for i, (log, floor) in enumerate(zip(curves[name], floors[name])):
            steps, samples, seconds, losses = zip(*log[1:])  # log axes: from the first step on
            excess = [max(loss - optimum, 1e-8) for loss in losses]
            label = (f"{name} (B {chosen[name]['batch_size']}, lr {chosen[name]['lr']:g})"
                     if i == 0 else None)
            by_samples.plot(samples, excess, color=COLOURS[name], linewidth=0.8, label=label)
            by_seconds.plot(seconds, excess, color=COLOURS[name], linewidth=0.8)
            steps, samples, seconds, losses = zip(*floor[1:])
            floor_ax.plot(samples, [max(loss - optimum, 1e-8) for loss in losses],
                          color=COLOURS[name], linewidth=0.8)
    by_samples.set(xlabel="samples processed", ylabel="loss - optimum (PCA-8)",
                   title="(a) per sample")
    by_seconds.set(xlabel="training time (s)", ylabel="loss - optimum", title="(b) per second")
    floor_ax.set(xlabel="samples processed", ylabel="loss - optimum",
                 title="(c) started at the optimum")
    for point, marker in (("start", "o"), ("optimum", "s")):
        rows = noise[point][:-1]  # B = N: no noise at all (zero on a log axis)
        sizes = [r["batch_size"] for r in rows]
        noise_ax.plot(sizes, [r["measured_noise"] for r in rows], marker, color="black",
                      markerfacecolor="none" if marker == "s" else "black", markersize=3.5,
                      linestyle="none", label=f"measured, at the {point}")
        noise_ax.plot(sizes, [r["exact_noise"] for r in rows], "-", color="grey", linewidth=0.8)
    noise_ax.axhline(noise["start"][0]["full_gradient_sq"], color="tab:purple", linewidth=0.8,
                     linestyle="--", label=r"$\|g\|^2$ at the start")
    noise_ax.plot([], [], "-", color="grey", label="exact value")
    noise_ax.set(xlabel="batch size $B$", ylabel=r"$E\,\|\hat g_B - g\|^2$",
                 title="(d) gradient noise")
    rows = noise["start"]
    cost_ax.plot([r["batch_size"] for r in rows], [1e3 * r["seconds_per_step"] for r in rows],
                 "o-", color="black", markersize=3, label="one step")
    cost_ax.plot([r["batch_size"] for r in rows],
                 [1e3 * r["seconds_per_step"] / r["batch_size"] for r in rows], "s--",
                 color="tab:orange", markersize=3, label="per sample")
    cost_ax.set(xlabel="batch size $B$", ylabel="time (ms)", title="(e) cost of a step")
    cost_ax.legend(loc="upper center", fontsize=7)
    for ax in (by_samples, by_seconds, floor_ax, noise_ax, cost_ax):
        ax.set(xscale="log", yscale="log")
        ax.grid(True, which="major", alpha=0.3)
    legend_ax.axis("off")  # the legends of (a)-(c) and of (d), side by side with the panels
    legend_ax.add_artist(legend_ax.legend(
        *by_samples.get_legend_handles_labels(), loc="upper right", fontsize=7,
        title=f"(a)-(c), {len(next(iter(curves.values())))} seeds each", title_fontsize=7.5))
    legend_ax.legend(*noise_ax.get_legend_handles_labels(), loc="lower right", fontsize=7,
                     title="(d)", title_fontsize=7.5)
    ex09.save(fig, path)


def build_parser(parser):
    parser.add_argument("--data-dir", type=ex09.user_path, default=ex09.HERE / "data",
                        help="root holding FashionMNIST/raw/")
    parser.add_argument("--out-dir", type=ex09.user_path, default=ex09.HERE / "figures",
                        help="results go to <out-dir>/q1/")
    parser.add_argument("--subset", type=ex09.positive_int, default=2000,
                        help="the first N training images form the fixed training set")
    parser.add_argument("--seconds", type=ex09.positive_float, default=10.0,
                        help="training time of every run (tuning runs too)")
    parser.add_argument("--floor-seconds", type=ex09.positive_float, default=2.0,
                        help="training time of each run started at the optimum")
    parser.add_argument("--seeds", type=ex09.positive_int, default=3,
                        help="seeds 0..N-1 of the runs shown (initial weights, batch order)")
    parser.add_argument("--lr-grid", type=ex09.bounded(float, 0, MAX_LR, low_inclusive=False),
                        nargs="+",
                        default=[2.0 ** k for k in range(-5, 0)],
                        help="starting grid of learning rates, extended by factors of 2 "
                             "while its best value is at an edge")
    parser.add_argument("--noise-repeats", type=ex09.positive_int, default=200,
                        help="random batches per batch size in the gradient-noise measurement")
    parser.add_argument("--skip-md5", action="store_true",
                        help="accept non-official data files (format still checked)")


def run(args):
    started = time.perf_counter()
    if args.subset <= CODE:  # PCA-8 would fit every image exactly: no optimum to approach
        raise ex09.UsageError(f"--subset must be more than the code size {CODE}, got "
                              f"{args.subset}")
    torch.set_flush_denormal(True)  # as in ex09.py: steady step times
    args.out_dir.mkdir(parents=True, exist_ok=True)
    x, _ = load_split(args.data_dir, "train", verify_md5=not args.skip_md5)
    x = x[:args.subset]
    mean_image_loss = float(((x - x.mean(dim=0)) ** 2).mean())
    # Centred inputs: with biases neither the model class nor its optimum changes, but the one
    # very steep direction of the loss (the mean image) is gone, so every variant can take
    # useful steps; without it the step size is set by that one direction.
    x = x - x.mean(dim=0)
    optimum = pca_optimum(x)
    curves, floors, chosen, noise = {}, {}, {}, {}
    noise["start"] = gradient_noise(linear_autoencoder(0), x, args.noise_repeats, seed=0)
    noise["optimum"] = gradient_noise(at_optimum(x, 0), x, args.noise_repeats, seed=0)
    for name, batch_size in VARIANTS:
        batch_size = batch_size or len(x)
        lr, tried, at_edge = choose_lr(x, batch_size, args.seconds, args.lr_grid)
        if math.isinf(tried[lr]):
            raise ex09.UsageError(f"{name}: every learning rate tried diverged ({min(tried):g} "
                                  f"to {max(tried):g}); nothing was published. Give a smaller "
                                  f"--lr-grid.")
        if at_edge:
            print(f"note: {name}: the best learning rate {lr:g} is still at the grid's edge")
        runs, floors[name] = [], []
        for seed in range(args.seeds):
            model = linear_autoencoder(seed)  # the same initial weights for every variant
            runs.append(train_for(model, x, batch_size, lr, seed, args.seconds))
            floors[name].append(train_for(at_optimum(x, seed), x, batch_size, lr, seed,
                                          args.floor_seconds))
            if not all(math.isfinite(log[-1][3]) for log in (runs[-1], floors[name][-1])):
                raise ex09.UsageError(f"{name} at learning rate {lr:g} diverged at seed {seed} "
                                      f"(it did not at the tuning seed); nothing was published. "
                                      f"Give a smaller --lr-grid or a longer --seconds.")
        finals = [log[-1] for log in runs]
        chosen[name] = {"batch_size": batch_size, "lr": lr, "lr_at_grid_edge": at_edge,
                        "tuning_final_loss": {f"{k:g}": v for k, v in sorted(tried.items())},
                        "final_loss": [f[3] for f in finals],
                        "final_excess": [f[3] - optimum for f in finals],
                        # from the optimum: the median excess over the second half of the run
                        "floor_excess": [statistics.median(
                            row[3] - optimum for row in log if row[2] >= args.floor_seconds / 2)
                            for log in floors[name]],
                        "steps": [f[0] for f in finals], "samples": [f[1] for f in finals],
                        "samples_per_second": statistics.median(f[1] / f[2] for f in finals),
                        "steps_per_second": statistics.median(f[0] / f[2] for f in finals)}
        curves[name] = runs
        print(f"{name:10s} batch {batch_size:5d}  lr {lr:<6g} final loss - optimum "
              f"{', '.join(f'{f[3] - optimum:.2e}' for f in finals)}  "
              f"{chosen[name]['samples_per_second']:9.0f} samples/s", flush=True)
    with publishing.staged(args.out_dir / "q1") as stage:
        plot(curves, floors, chosen, noise, optimum, stage / "q1_gd_variants.png")
        with open(stage / "q1_curves.csv", "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["variant", "start", "seed", "steps", "samples", "seconds", "loss"])
            writer.writerows([name, start, seed, *row] for start, logs in (("random", curves),
                             ("optimum", floors)) for name, runs in logs.items()
                             for seed, log in enumerate(runs) for row in log)
        (stage / "q1_results.json").write_text(json.dumps({
            "subset": len(x), "code": CODE, "optimum_loss": optimum,
            "mean_image_loss": mean_image_loss, "inputs_centred": True,
            "seconds_budget": args.seconds, "floor_seconds": args.floor_seconds,
            "seeds": args.seeds, "tuning_seed": TUNING_SEED,
            "lr_start_grid": args.lr_grid, "variants": chosen, "gradient_noise": noise,
            "wall_seconds": round(time.perf_counter() - started, 1)}, indent=2) + "\n")
    print(f"done in {time.perf_counter() - started:.1f} s; written to {args.out_dir / 'q1'}")
