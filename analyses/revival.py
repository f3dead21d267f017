"""What revives a dead start? At seed 0 the sheet's network starts dead: every unit of the
decoder's first (8 -> 8) layer is zero for every test image, so the output ignores the input.

    python -m analyses revival      # about two minutes on 2 CPU cores; writes figures/revival/

From that same seed-0 start, on the same shuffled mini-batches of 128 as ex09.py, this trains
(1) Adam with the sheet's weight decay 1e-5 (what ex09.py does), (2) Adam without weight decay
and (3) plain SGD with weight decay 1e-5, and records every --log-every steps the live units of
the decoder's first layer and of the code (ex09.network_health on --probe test images), the
training loss, and the first step at which a decoder unit is live. It also scans the initial
networks of seeds 0 .. --scan-seeds - 1 and lists those that start dead.
"""

import json
import math

import torch
from torch import nn

import ex09
import fashion_mnist
import publishing

BATCH_SIZE = 128  # the sheet's

VARIANTS = (("Adam, weight decay 1e-5 (the sheet's)", "adam", 1e-5),
            ("Adam, no weight decay", "adam", 0.0),
            ("plain SGD, weight decay 1e-5", "sgd", 1e-5))


def build_parser(parser):
    parser.add_argument("--out-dir", type=ex09.user_path, default=ex09.HERE / "figures",
                        help="results go to <out-dir>/revival/")
    parser.add_argument("--seed", type=ex09.seed_int, default=0, help="the start to revive")
    parser.add_argument("--epochs", type=ex09.positive_int, default=3,
                        help="epochs of training per variant")
    parser.add_argument("--log-every", type=ex09.positive_int, default=5,
                        help="steps between two health measurements")
    parser.add_argument("--probe", type=ex09.positive_int, default=2000,
                        help="test images the health is measured on")
    parser.add_argument("--sgd-lr", type=ex09.positive_float, default=0.1,
                        help="plain SGD's learning rate (Adam uses the sheet's 1e-3)")
    parser.add_argument("--scan-seeds", type=ex09.non_negative_int, default=40,
                        help="initial networks of seeds 0..N-1 checked for a dead start")
    fashion_mnist.add_options(parser, ex09.positive_int, ex09.user_path)


def train_logged(x_train, probe, optimizer_name, weight_decay, args):
    """One variant from the seed's start; returns [(step, train loss, health)]."""
    ex09.set_seeds(args.seed)  # the same initial weights as `ex09.py --seed SEED`
    model = ex09.AutoEncoder()
    optimizer = (ex09.make_optimizer(model, 1e-3, weight_decay) if optimizer_name == "adam" else
                 torch.optim.SGD(model.parameters(), lr=args.sgd_lr, weight_decay=weight_decay))
    shuffle_gen = torch.Generator().manual_seed(args.seed)  # as ex09.train
    loss_fn, step, log = nn.MSELoss(), 0, [(0, None, ex09.network_health(model, probe))]
    for _ in range(args.epochs):
        order = torch.randperm(len(x_train), generator=shuffle_gen)
        for start in range(0, len(x_train), BATCH_SIZE):
            batch = x_train[order[start:start + BATCH_SIZE]]
            model.train()
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(batch), batch)
            if not torch.isfinite(loss):  # NaN weights would count as live units
                lr = args.sgd_lr if optimizer_name == "sgd" else 1e-3
                raise ex09.UsageError(f"{optimizer_name} at learning rate {lr:g} diverged at "
                                      f"step {step + 1}: the loss is {loss.item()}; nothing was "
                                      f"published. Try a smaller --sgd-lr.")
            loss.backward()
            optimizer.step()
            step += 1
            if step % args.log_every == 0:
                log.append((step, loss.item(), ex09.network_health(model, probe)))
    return log


def plot(results, path):
    plt = ex09._matplotlib()
    fig, axes = plt.subplots(1, 2, figsize=(6.5, 2.8), sharex=True)
    # Lines that lie on top of each other (two stay dead at 0) stay visible: wide to narrow.
    for (name, log), colour, style, width in zip(results.items(), ("tab:blue", "tab:orange",
                                                  "tab:green"), ("-", "-", "--"), (1.2, 3.5, 1.5)):
        steps = [s for s, _, _ in log]
        for ax, key in zip(axes, ("live_decoder_units", "live_code_units")):
            ax.step(steps, [h[key] for _, _, h in log], where="post", color=colour, label=name,
                    linestyle=style, linewidth=width, zorder=3 - width / 4)
    axes[0].set(xlabel="training step (mini-batch of 128)", ylabel="live units (of 8)",
                title="decoder's first layer", ylim=(-0.3, 8.3))
    axes[1].set(xlabel="training step (mini-batch of 128)", ylabel="live units (of 8)",
                title="code h", ylim=(-0.3, 8.3))
    for ax in axes:
        ax.grid(True, alpha=0.3)
    axes[1].legend(loc="upper right", title="both panels")  # the right panel's top is empty
    ex09.save(fig, path)


def run(args):
    x_train, _, x_test, _ = fashion_mnist.load(args)
    steps = args.epochs * math.ceil(len(x_train) / BATCH_SIZE)
    if args.log_every > steps:
        raise ex09.UsageError(f"--log-every {args.log_every} is longer than the run's {steps} "
                              f"steps ({args.epochs} epochs of {len(x_train)} images)")
    probe = x_test[:args.probe]
    torch.set_flush_denormal(True)  # as ex09.py
    dead_seeds = []
    for seed in range(args.scan_seeds):
        ex09.set_seeds(seed)
        if not ex09.network_health(ex09.AutoEncoder(), x_test)["output_varies"]:
            dead_seeds.append(seed)
    if args.scan_seeds:
        print(f"seeds 0-{args.scan_seeds - 1} that start dead on the test images: {dead_seeds}")
    results, summary = {}, {}
    for name, optimizer_name, weight_decay in VARIANTS:
        log = train_logged(x_train, probe, optimizer_name, weight_decay, args)
        results[name] = log
        alive = next((step for step, _, h in log if h["live_decoder_units"] > 0), None)
        summary[name] = {"optimizer": optimizer_name, "weight_decay": weight_decay,
                         "lr": 1e-3 if optimizer_name == "adam" else args.sgd_lr,
                         "dead_at_start": not log[0][2]["output_varies"],
                         "first_step_with_a_live_decoder_unit": alive,
                         "final": log[-1][2], "final_train_loss": log[-1][1]}
        print(f"{name}: first live decoder unit at step {alive}; after {log[-1][0]} steps "
              f"{log[-1][2]}, batch loss {log[-1][1]:.4f}", flush=True)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    with publishing.staged(args.out_dir / "revival") as stage:
        plot(results, stage / "revival.png")
        ex09.write_csv([{"variant": name, "step": step, "batch_loss": loss, **h}
                        for name, log in results.items() for step, loss, h in log],
                       stage / "revival.csv")
        (stage / "revival.json").write_text(json.dumps(
            {"seed": args.seed, "epochs": args.epochs, "steps_per_epoch": -(-len(x_train) // BATCH_SIZE),
             "probe_images": len(probe), "log_every": args.log_every, "dead_seeds": dead_seeds,
             "scanned_seeds": args.scan_seeds, "variants": summary}, indent=2) + "\n")
    print(f"written to {args.out_dir / 'revival'}")
