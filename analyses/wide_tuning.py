"""The held-out images' width, tuned (Q3, beyond the sheet).

    python -m analyses wide-tuning    # writes figures/wide_tuning/; about 70 minutes on 2 cores

python -m analyses width-choice found that the held-out images prefer the widest network it
tried (512) after 50 epochs at the sheet's learning rate. Here that width trains longer, for
--epochs epochs at each learning rate of --lrs, exactly as python -m analyses dae-tuning trains
its networks (its held-out images, noise draw, batch and weight decay; its tuning seed). Every
eval-every epochs it is scored on the held-out images (the choice) and on the first
subset-images noisy test images (recorded, never used for a choice). Written: the learning rate
and epoch with the best held-out PSNR, the test PSNR there and each test image's PSNR there
(for an image-by-image comparison), beside the held-out curve of dae-tuning's widest network
at its tuned learning rate (the same seed, from figures/dae_tuning/). Needs figures/dae_tuning/;
--redraw draws the figure again from the record, with that curve read again; with --update
only --lrs are trained and the record's other learning rates are kept.
"""

import json
import time

import torch

import ex09
import fashion_mnist
import publishing
from analyses import dae_tuning, runs
from analyses.dae_longer import training_args

LRS = (1e-4, 3e-4, 1e-3)  # dae_tuning's best for width 128 and the two next lower (wider
# networks take smaller rates), a factor of about 3 apart as there


def build_parser(parser):
    parser.add_argument("--out-dir", type=ex09.user_path, default=ex09.HERE / "figures",
                        help="reads <out-dir>/dae_tuning/; results go to <out-dir>/wide_tuning/")
    parser.add_argument("--width", type=ex09.positive_int, default=512,
                        help="the network's width W (its narrow layers widened to W)")
    parser.add_argument("--lrs", type=ex09.positive_float, nargs="+", default=list(LRS),
                        help="Adam's learning rates tried")
    parser.add_argument("--epochs", type=ex09.positive_int, default=200,
                        help="epochs at each learning rate")
    parser.add_argument("--jobs", type=ex09.positive_int, default=2,
                        help="networks trained at a time, one thread each")
    parser.add_argument("--update", action="store_true",
                        help="train only --lrs and keep the other learning rates' curves from "
                             "the existing wide_tuning.json (same width, epochs and seed)")
    parser.add_argument("--redraw", action="store_true",
                        help="train nothing: draw the figure again from wide_tuning.json")
    fashion_mnist.add_options(parser, ex09.positive_int, ex09.user_path)


def choose(curves):
    """(lr, epoch, held-out PSNR) of the best held-out score; curves: {lr: {epoch: PSNR}}."""
    return max(((lr, e, p) for lr, curve in curves.items() for e, p in curve.items()),
               key=lambda c: c[2])


def previous(args, tun):
    """The existing record whose other learning rates --update keeps: made with this width,
    epoch count and dae-tuning's seed."""
    path = args.out_dir / "wide_tuning" / "wide_tuning.json"
    if not path.exists():
        raise ex09.UsageError(f"--update keeps the other learning rates of {path}, which does "
                              f"not exist")
    old = runs.read_record(path, "wide-tuning")
    mine = {"width": args.width, "epochs": args.epochs, "seed": tun["seed"]}
    differ = [k for k, v in mine.items() if old.get(k) != v]
    if differ:
        raise ex09.UsageError(f"--update: {path} was made with another {', '.join(differ)}; "
                              f"run without --update, or with its settings")
    if "runs" not in old:  # a record from before runs were listed: its one run
        old["runs"] = [{"lrs": old["lrs"], "jobs": old["jobs"],
                        "wall_seconds": old["wall_seconds"]}]
    return old


def reference(tun):
    """dae_tuning's widest network at its tuned learning rate: its held-out curve (the same
    seed, images and noise as here), every epoch of the tuning's grid."""
    width = max(tun["widths"])
    lr = tun["tuned"][str(width)]["lr"]
    curve, = [c["held_out_psnr_db"] for c in tun["curves"]
              if c["width"] == width and c["lr"] == lr]
    return {"width": width, "lr": lr, "held_out_psnr_db": curve}


def run(args):
    started = time.perf_counter()
    torch.set_flush_denormal(True)  # as dae_tuning.run: the same arithmetic as its networks
    tun = runs.read_record(args.out_dir / "dae_tuning" / "dae_tuning.json", "dae-tuning")
    if args.redraw:
        return redraw(args.out_dir / "wide_tuning", tun)
    x_train = fashion_mnist.load(args)[0]
    settings = training_args(args, tun)
    dae_tuning.check_held_out(settings, len(x_train), args.epochs)  # before any training
    old = previous(args, tun) if args.update else None  # before any training, too
    results = dae_tuning.run_all(
        [{"args": settings, "width": args.width, "lr": lr, "seed": tun["seed"],
          "epochs": args.epochs, "keep": [], "test_images": tun["subset_images"]}
         for lr in sorted(set(args.lrs))], args.jobs)
    curves = [{"lr": r["lr"],
               "held_out_psnr_db": {str(e): p for e, p in r["held_out_psnr_db"].items()},
               "test_psnr_db": {str(e): p for e, p in r["test_psnr_db"].items()}}
              for r in results]
    kept = [c for c in (old or {}).get("curves", []) if c["lr"] not in args.lrs]
    curves = sorted(kept + curves, key=lambda c: c["lr"])
    lr, epoch, psnr = choose({c["lr"]: c["held_out_psnr_db"] for c in curves})
    best = next((r for r in results if r["lr"] == lr), None)
    if best is None:  # the kept record's own choice: its images are the record's
        images = old["subset_image_psnr_db_at_chosen"]
    else:
        images = [float(p) for p in best["test_image_psnr_db"][int(epoch)]]
    curve = next(c for c in curves if c["lr"] == lr)
    runs_made = (old or {}).get("runs", []) + [{
        "lrs": sorted(set(args.lrs)), "jobs": args.jobs,
        "wall_seconds": round(time.perf_counter() - started, 1)}]
    record = {
        "width": args.width, "lrs": [c["lr"] for c in curves], "epochs": args.epochs,
        "seed": tun["seed"], "eval_every": tun["eval_every"], "tune_images": tun["tune_images"],
        "subset_images": tun["subset_images"], "train_images": len(x_train) - tun["tune_images"],
        "curves": curves,
        "chosen": {"lr": lr, "epoch": int(epoch), "held_out_psnr_db": psnr,
                   "test_psnr_db": curve["test_psnr_db"][str(epoch)],
                   "at_last_epoch": int(epoch) == max(map(int, curve["held_out_psnr_db"]))},
        "subset_image_psnr_db_at_chosen": images,
        "reference": reference(tun), "runs": runs_made,
        "wall_seconds": round(sum(r["wall_seconds"] for r in runs_made), 1)}
    args.out_dir.mkdir(parents=True, exist_ok=True)
    with publishing.staged(args.out_dir / "wide_tuning") as stage:
        (stage / "wide_tuning.json").write_text(json.dumps(record, indent=1) + "\n")
        plot(record, stage / "wide_tuning.png")
    c = record["chosen"]
    print(f"width {args.width}: best held-out PSNR {c['held_out_psnr_db']:.3f} dB at lr "
          f"{c['lr']:g}, epoch {c['epoch']}" + (" (the last)" if c["at_last_epoch"] else "")
          + f"; test PSNR there {c['test_psnr_db']:.3f} dB")
    print(f"written to {args.out_dir / 'wide_tuning'}")


def redraw(folder, tun):
    """The record and figure again, the reference curve read again from dae_tuning.json."""
    runs.redraw(folder, "wide-tuning", lambda record, stage: plot(record, stage / "wide_tuning.png"),
                update=lambda record: record.update(reference=reference(tun)))


def plot(record, path):
    """Held-out PSNR against epochs: each learning rate, and dae_tuning's widest network at
    its tuned one over that tuning's whole epoch grid."""
    plt = ex09._matplotlib()
    fig, ax = plt.subplots(figsize=(4.2, 2.8))
    for c in record["curves"]:
        points = sorted((int(e), p) for e, p in c["held_out_psnr_db"].items())
        ax.plot(*zip(*points), lw=1.2, label=f"width {record['width']}, lr {c['lr']:g}")
    ref = record["reference"]
    points = sorted((int(e), p) for e, p in ref["held_out_psnr_db"].items())
    ax.plot(*zip(*points), lw=1, color="grey", ls="--",
            label=f"width {ref['width']}, lr {ref['lr']:g} (tuned)")
    ax.set_xlabel("epoch")
    ax.set_ylabel("PSNR on held-out images (dB)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    ex09.save(fig, path)
