"""Would longer training close the widened DAE's gap to the filters (Q3, beyond the sheet)?

    python -m analyses dae-longer     # about an hour on 2 cores

analyses/dae_tuning.py chose the widened DAE's learning rate and epoch count on held-out
images over at most 400 epochs, and its best held-out score was still rising at the end.
Here that network (the widest tuned width, at its chosen learning rate) is trained afresh to
--epochs at each of dae_tuning's scored seeds, on the same images and noise. Every
--eval-every epochs it is scored on the held-out images (the tuning's measure) and on the
first --subset-images noisy test images (recorded, never used for a choice). Written: the
epoch with the best held-out PSNR averaged over the seeds, the test PSNR there, and the best
test PSNR at any epoch, a bound that favours the network (the epoch is picked on the test
images), each next to the clipping-aware filters' test PSNR, and each test image's PSNR at
the chosen epoch, which analyses/paired.py pairs with the filters'. Needs figures/dae_tuning/
and figures/denoisers/. The figure draws the clipping-aware Wiener estimator too, and the two
classical leaders where their analyses have run (bm3d-blocks, patch-prior); --redraw draws it
again from the record, those lines read again.
"""

import argparse
import json
import time

import torch

import ex09
import fashion_mnist
import publishing
from analyses import dae_tuning, runs
from analyses.measures import spread
from analyses.paired import read_comparison

FILTERS = ("non-local means, clipping-aware", "BM3D, clipping-aware")  # the two leaders


def build_parser(parser):
    parser.add_argument("--out-dir", type=ex09.user_path, default=ex09.HERE / "figures",
                        help="reads <out-dir>/dae_tuning/ and <out-dir>/denoisers/; results "
                             "go to <out-dir>/dae_longer/")
    parser.add_argument("--epochs", type=ex09.positive_int, default=800,
                        help="epochs each network is trained for")
    parser.add_argument("--jobs", type=ex09.positive_int, default=3,
                        help="networks trained at a time, one thread each")
    parser.add_argument("--redraw", action="store_true",
                        help="train nothing: draw dae_longer.png again from dae_longer.json")
    fashion_mnist.add_options(parser, ex09.positive_int, ex09.user_path)


def references(out_dir, den, sigma):
    """The figure's horizontal lines: {label: (test PSNR, line style)}, the two filters the
    record compares with, the clipping-aware Wiener estimator, and BM3D with tuned blocks and
    the learned dictionary where bm3d-blocks and patch-prior have written their records."""
    wiener = "Wiener (linear MMSE), clipping-aware"
    lines = {f"{m.replace('BM3D,', 'BM3D (library blocks),')}": (p, style)
             for (m, p), style in zip(filter_scores(den, sigma).items(), ("--", ":"))}
    lines.update({wiener: (s["subset"]["psnr_db"]["mean"], "-.") for s in den["summary"]
                  if s["method"] == wiener and s["sigma"] == sigma})
    for folder, label, style in (("bm3d_blocks", "BM3D, tuned blocks, clipping-aware",
                                  (0, (6, 2, 1, 2, 1, 2))),
                                 ("patch_prior", "learned dictionary, clipping-aware", "-")):
        path = out_dir / folder / f"{folder}.json"
        if path.exists():
            lines[label] = (json.loads(path.read_text())["pipelines"]["clipping-aware"]["test"]
                            ["psnr_db"], style)
    return lines


def filter_scores(den, tun_sigma):
    """method -> its test PSNR (first subset_images) at the tuning's noise level."""
    return {s["method"]: s["subset"]["psnr_db"]["mean"] for s in den["summary"]
            if s["method"] in FILTERS and s["sigma"] == tun_sigma}


def summarise(curves, tuned_epochs, tuned_per_seed):
    """The record's findings from {seed: {"held_out": {epoch: dB}, "test": {epoch: dB}}}."""
    epochs = sorted(set.intersection(*(set(c["held_out"]) for c in curves.values())))
    mean = {k: {e: sum(c[k][e] for c in curves.values()) / len(curves) for e in epochs}
            for k in ("held_out", "test")}
    chosen = max(epochs, key=mean["held_out"].get)
    best_test = max(epochs, key=mean["test"].get)
    return {
        "epochs_scored": epochs,
        "chosen_epoch": chosen,
        "test_at_chosen": spread([c["test"][chosen] for c in curves.values()]),
        "best_test_epoch": best_test,
        "test_at_best_test": spread([c["test"][best_test] for c in curves.values()]),
        "held_out_gain_after": {str(e): mean["held_out"][e] - mean["held_out"][tuned_epochs]
                                for e in epochs if e >= tuned_epochs},
        # the same seed, data and noise as dae_tuning's scored networks: equal at their epoch
        "reproduces_tuning": all(
            abs(c["test"].get(tuned_epochs, float("nan")) - tuned_per_seed[str(s)]) < 1e-4
            for s, c in curves.items())}


def run(args):
    started = time.perf_counter()
    torch.set_flush_denormal(True)  # as dae_tuning.run: the same arithmetic as its networks
    den = read_comparison(args.out_dir)
    tun = runs.read_record(args.out_dir / "dae_tuning" / "dae_tuning.json", "dae-tuning")
    if args.redraw:
        lines = references(args.out_dir, den, tun["sigma"])
        return runs.redraw(args.out_dir / "dae_longer", "dae-longer", lambda record, stage:
                           plot(record, stage / "dae_longer.png", lines))
    width = max(tun["widths"])
    tuned = tun["tuned"][str(width)]
    if args.epochs < tuned["epochs"]:
        raise ex09.UsageError(f"--epochs {args.epochs} is fewer than the {tuned['epochs']} "
                              f"the tuning chose: nothing longer would be tried")
    settings = training_args(args, tun)
    results = dae_tuning.run_all(
        [{"args": settings, "width": width, "lr": tuned["lr"], "seed": s,
          "epochs": args.epochs, "keep": [], "test_images": tun["subset_images"]}
         for s in tun["scored_seeds"]], args.jobs)
    curves = {r["seed"]: {"held_out": r["held_out_psnr_db"], "test": r["test_psnr_db"]}
              for r in results}
    found = summarise(curves, tuned["epochs"],
                      {s: v["subset"]["psnr_db"] for s, v in tuned["per_seed"].items()})
    # each test image's PSNR at the chosen epoch, for analyses/paired.py's image-by-image test
    images = {str(r["seed"]): [float(p) for p in r["test_image_psnr_db"][found["chosen_epoch"]]]
              for r in results}
    record = {"width": width, "lr": tuned["lr"], "epochs": args.epochs,
              "tuned_epochs": tuned["epochs"], "seeds": tun["scored_seeds"],
              "eval_every": tun["eval_every"], "subset_images": tun["subset_images"],
              "filters_test_psnr_db": filter_scores(den, tun["sigma"]),
              **found, "subset_image_psnr_db_at_chosen": images,
              "curves": {str(s): {k: {str(e): p for e, p in c[k].items()} for k in c}
                         for s, c in curves.items()},
              "wall_seconds": round(time.perf_counter() - started, 1)}
    args.out_dir.mkdir(parents=True, exist_ok=True)
    with publishing.staged(args.out_dir / "dae_longer") as stage:
        (stage / "dae_longer.json").write_text(json.dumps(record, indent=1) + "\n")
        plot(record, stage / "dae_longer.png", references(args.out_dir, den, tun["sigma"]))
    t, b = record["test_at_chosen"], record["test_at_best_test"]
    print(f"width {width}, lr {tuned['lr']:g}: best held-out epoch {record['chosen_epoch']}, "
          f"test PSNR there {t['mean']:.2f} +- {t['sd']:.2f} dB; best test epoch "
          f"{record['best_test_epoch']}: {b['mean']:.2f} dB; filters "
          + ", ".join(f"{m} {p:.2f}" for m, p in record["filters_test_psnr_db"].items()))
    print(f"written to {args.out_dir / 'dae_longer'}")


def training_args(args, tun):
    """What dae_tuning.train reads from its args: this run's data options, the tuning's
    settings (so the networks, images and noise are the tuning's own)."""
    return argparse.Namespace(**vars(args), **{
        k: tun[k] for k in ("tune_images", "eval_every", "batch_size", "weight_decay")})


def plot(record, path, lines):
    """Test PSNR against epochs, one line per seed, the classical methods (`lines`, from
    references) as horizontal lines."""
    plt = ex09._matplotlib()
    fig, ax = plt.subplots(figsize=(5.2, 3.2))  # printed at 0.8 of the text width
    for s, c in record["curves"].items():
        points = sorted((int(e), p) for e, p in c["test"].items())
        ax.plot(*zip(*points), lw=1, label=f"DAE widened to {record['width']}, seed {s}")
    for method, (psnr, style) in sorted(lines.items(), key=lambda m: -m[1][0]):
        ax.axhline(psnr, color="black", ls=style, lw=1, label=method)
    ax.axvline(record["tuned_epochs"], color="grey", lw=0.8)
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"PSNR, first {record['subset_images']}\ntest images (dB)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    fig.tight_layout()
    ex09.save(fig, path, layout=False)
