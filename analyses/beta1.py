"""The sheet's other reading of "momentum of 1e-5" (Q2c): Adam's beta1 = 1e-5, no weight decay.

    python -m analyses beta1     # about ten minutes on 2 cores; writes figures/beta1/

ex09.py reads the phrase as Adam's weight decay (weight_decay=1e-5, beta1 = 0.9). Read as
Adam's first-moment coefficient, beta1 = 1e-5 switches off the averaging of gradients (each
step follows the current mini-batch's gradient, scaled by Adam's second moment) and leaves no
weight decay. This trains the sheet's plain autoencoder (Q2) that way at each of --seeds, on the
same initial weights and shuffled mini-batches as `ex09.py --seed N` (whose training loop it
runs), and sets its final test MSE and live code units beside the seed study's runs of the
reading ex09.py takes, seed by seed. Needs those runs (python ex09.py / python -m analyses seeds).
"""

import json
import time

import torch
from torch import nn

import ex09
import fashion_mnist
import publishing
from analyses import runs
from analyses.measures import spread


def build_parser(parser):
    parser.add_argument("--out-dir", type=ex09.user_path, default=ex09.HERE / "figures",
                        help="reads the runs under <out-dir>; results go to <out-dir>/beta1/")
    parser.add_argument("--beta1", type=ex09.bounded(float, 0, 0.999), default=1e-5,
                        help="Adam's first-moment coefficient (weight decay 0)")
    parser.add_argument("--seeds", type=ex09.seed_int, nargs="+", default=[0, 1, 2, 3, 4],
                        help="seeds trained, each beside ex09.py's run at that seed")
    parser.add_argument("--jobs", type=ex09.positive_int, default=2,
                        help="networks trained at a time, one thread each")
    fashion_mnist.add_options(parser, ex09.positive_int, ex09.user_path)


def train(task):
    """The sheet's AE at one seed with Adam(beta1, weight_decay), as ex09.train trains it:
    {"test_loss": final test MSE, "live_code_units": ...}. One thread, in a worker process."""
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # as ex09.run
    args, seed = task["args"], task["seed"]
    x_train, _, x_test, _ = fashion_mnist.load(args)
    sheet = ex09.build_parser().parse_args([])  # the sheet's lr, batch and epochs
    ex09.set_seeds(seed)
    model = ex09.AutoEncoder()
    optimizer = ex09.make_optimizer(model, sheet.lr, task["weight_decay"], beta1=task["beta1"])
    shuffle_gen = torch.Generator().manual_seed(seed)  # as ex09.train
    for _ in range(task.get("epochs", sheet.epochs)):
        ex09.train_epoch(model, optimizer, nn.MSELoss(), x_train, sheet.batch_size, shuffle_gen)
    return {"seed": seed, "test_loss": ex09.evaluate(model, x_test, x_test),
            **ex09.network_health(model, x_test)}


def run(args):
    started = time.perf_counter()
    names = [runs.seed_run(s, "plain") for s in args.seeds]
    runs.require_runs(args.out_dir, names, "beta1")  # before training: it compares with them
    sheet = {s: json.loads((args.out_dir / n / "metrics.json").read_text())
             for s, n in zip(args.seeds, names)}
    defaults = vars(ex09.build_parser().parse_args([]))
    for s, n in zip(args.seeds, names):  # the comparison is with the sheet's own settings
        other = [k for k in ("lr", "batch_size", "epochs", "weight_decay", "train_limit")
                 if sheet[s]["config"][k] != defaults[k]]
        if other:
            raise ex09.UsageError(f"{args.out_dir / n} was trained with other "
                                  f"{', '.join(other)} than the sheet's; rerun it: "
                                  f"{runs.rerun_command(args.out_dir, n)}")
    tasks = [{"args": args, "seed": s, "beta1": args.beta1, "weight_decay": 0.0}
             for s in args.seeds]
    results = runs.map_jobs(train, tasks, args.jobs)
    per_seed = {r["seed"]: {"beta1_test_loss": r["test_loss"],
                            "sheet_test_loss": sheet[r["seed"]]["final_test_loss"],
                            "beta1_live_code_units": r["live_code_units"],
                            "beta1_live_decoder_units": r["live_decoder_units"],
                            "beta1_output_varies": r["output_varies"]} for r in results}
    record = {
        "beta1": args.beta1, "weight_decay": 0.0, "seeds": args.seeds, "per_seed": per_seed,
        "beta1_test_loss": spread([v["beta1_test_loss"] for v in per_seed.values()]),
        "sheet_test_loss": spread([v["sheet_test_loss"] for v in per_seed.values()]),
        "difference": spread([v["beta1_test_loss"] - v["sheet_test_loss"]
                              for v in per_seed.values()]),
        "beta1_live_code_units": spread([v["beta1_live_code_units"] for v in per_seed.values()]),
        "wall_seconds": round(time.perf_counter() - started, 1)}
    args.out_dir.mkdir(parents=True, exist_ok=True)
    with publishing.staged(args.out_dir / "beta1") as stage:
        (stage / "beta1.json").write_text(json.dumps(record, indent=1) + "\n")
    b, s, d = record["beta1_test_loss"], record["sheet_test_loss"], record["difference"]
    print(f"beta1 {args.beta1:g}, no weight decay: test MSE {b['mean']:.4f} +- {b['sd']:.4f}; "
          f"the sheet's reading {s['mean']:.4f} +- {s['sd']:.4f}; paired difference "
          f"{d['mean']:+.4f} +- {d['sd']:.4f} [{d['min']:+.4f}, {d['max']:+.4f}]")
    print(f"written to {args.out_dir / 'beta1'}")
