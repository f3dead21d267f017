"""Which width do the held-out images choose? (Q3, beyond the sheet)

    python -m analyses width-choice   # writes figures/width_choice/; about 20 minutes on 2 cores

The denoiser comparison's width sweep (python -m analyses denoisers) scores its networks on the
test images. Here each width of --widths (8: the sheet's network; W: its narrow layers widened
to W, as analyses/variants.py) trains at the sheet's settings (Q2c: Adam at learning rate
--lr, batch and weight decay of ex09.py, --epochs epochs) at --seed, on the training images
less the held-out ones, exactly as python -m analyses dae-tuning trains. Every --eval-every
epochs it is scored by mean PSNR on dae-tuning's held-out images (the filters' tuning images
and noise draw). The chosen width has the best held-out score; the test images play no part.
"""

import json
import time

import torch

import ex09
import fashion_mnist
import publishing
from analyses import dae_tuning
from analyses.denoisers import TUNE_NOISE_SEED
from noise import DEFAULT_NOISE_STD

WIDTHS = (8, 16, 32, 64, 128, 256, 512)  # the width sweep's, and on past 128 until it turns


def build_parser(parser):
    parser.add_argument("--out-dir", type=ex09.user_path, default=ex09.HERE / "figures",
                        help="results go to <out-dir>/width_choice/")
    parser.add_argument("--widths", type=ex09.positive_int, nargs="+", default=list(WIDTHS),
                        help="networks compared (8: the sheet's; W: narrow layers widened to W)")
    parser.add_argument("--lr", type=ex09.positive_float, default=1e-3,
                        help="Adam's learning rate (the sheet's)")
    parser.add_argument("--epochs", type=ex09.positive_int, default=50,
                        help="epochs of every network (the sheet's)")
    parser.add_argument("--eval-every", type=ex09.positive_int, default=10,
                        help="epochs between two held-out scores")
    parser.add_argument("--seed", type=ex09.seed_int, default=1,
                        help="the seed every width trains at (dae-tuning's tuning seed)")
    parser.add_argument("--tune-images", type=ex09.positive_int, default=1000,
                        help="the last N training images, noised, score every width (the "
                             "filters' tuning images); the networks train on the others")
    parser.add_argument("--jobs", type=ex09.positive_int, default=2,
                        help="networks trained at a time, one thread each")
    fashion_mnist.add_options(parser, ex09.positive_int, ex09.user_path)


def choose(held_out):
    """(width, epoch, PSNR) of the best held-out score; held_out: {width: {epoch: PSNR}}."""
    return max(((w, e, p) for w, curve in held_out.items() for e, p in curve.items()),
               key=lambda c: c[2])


def run(args):
    started = time.perf_counter()
    x_train = fashion_mnist.load(args)[0]
    dae_tuning.check_held_out(args, len(x_train), args.epochs)
    args.widths = sorted(set(args.widths))
    torch.set_flush_denormal(True)
    trained = dae_tuning.run_all([{"args": args, "width": w, "lr": args.lr, "seed": args.seed,
                                   "epochs": args.epochs, "keep": []} for w in args.widths],
                                  args.jobs)
    held_out = {r["width"]: r["held_out_psnr_db"] for r in trained}
    width, epoch, psnr = choose(held_out)
    record = {
        "sigma": DEFAULT_NOISE_STD, "lr": args.lr, "epochs": args.epochs, "seed": args.seed,
        "eval_every": args.eval_every, "tune_images": args.tune_images,
        "tune_noise_seed": TUNE_NOISE_SEED, "train_images": len(x_train) - args.tune_images,
        "batch_size": args.batch_size, "weight_decay": args.weight_decay, "widths": args.widths,
        "held_out_psnr_db": {str(w): {str(e): p for e, p in c.items()}
                             for w, c in held_out.items()},
        "chosen": {"width": width, "epoch": epoch, "held_out_psnr_db": psnr,
                   "at_edge": width == max(args.widths)},
        "wall_seconds": round(time.perf_counter() - started, 1), "jobs": args.jobs}
    args.out_dir.mkdir(parents=True, exist_ok=True)
    with publishing.staged(args.out_dir / "width_choice") as stage:
        (stage / "width_choice.json").write_text(json.dumps(record, indent=1) + "\n")
        plot(record, stage / "width_choice.png")
    for w, curve in held_out.items():
        print(f"width {w}: held-out PSNR {curve[max(curve)]:.3f} dB at epoch {max(curve)}")
    print(f"chosen: width {width} (epoch {epoch}, {psnr:.3f} dB)"
          + (", the widest tried" if record["chosen"]["at_edge"] else ""))
    print(f"written to {args.out_dir / 'width_choice'}")


def plot(record, path):
    """Each width's best held-out PSNR (over its scored epochs), the chosen width marked."""
    plt = ex09._matplotlib()
    widths = record["widths"]
    psnr = [max(record["held_out_psnr_db"][str(w)].values()) for w in widths]
    fig, ax = plt.subplots(figsize=(3.4, 2.4))
    ax.plot(widths, psnr, marker="o", ms=4, label=f"seed {record['seed']}, best epoch")
    chosen = record["chosen"]
    ax.plot([chosen["width"]], [chosen["held_out_psnr_db"]], marker="*", ms=12, color="black",
            ls="none", label="chosen")
    ax.set_xscale("log", base=2)
    ax.set_xticks(widths, [str(w) for w in widths])
    ax.minorticks_off()
    ax.set_xlabel("width W (= code size)")
    ax.set_ylabel("PSNR on held-out images (dB)")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right")
    ex09.save(fig, path)
