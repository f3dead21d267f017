"""Does the DAE lose to the filters because they were tuned and it was not? Tune it on the same
held-out images (Q3, beyond the sheet).

    python -m analyses dae-tuning     # writes figures/dae_tuning/; about two hours on 2 cores

The denoiser comparison (python -m analyses denoisers) tunes every filter on noisy copies of
the last --tune-images TRAINING images. Here the DAE gets the same images and the same noise
draw: it trains on the other training images only, with the sheet's loss, optimiser, batch and
weight decay, and is scored on the held-out images by mean PSNR every --eval-every epochs, for
each learning rate of --lrs and each width of --widths (8: the sheet's network; W: its narrow
layers widened to W, as analyses/variants.py), at seed --seed. For each width the learning rate
and epoch count with the best held-out PSNR are chosen; that setting is trained afresh at each
of --scored-seeds, and those networks (not the tuning seed's, which was picked for its score)
are scored on the fixed noisy test images as the denoiser comparison scores its methods (the
first --subset-images, and all of them). The test images play no part in the choice. Needs the
comparison's figures/denoisers/denoisers.json: its ranking is drawn again with the tuned
networks in it (standing.png). With --update only --widths are trained, the other widths'
results are kept from the existing dae_tuning.json (its other settings must be the same): a
longer epoch grid for one width costs only that width's training.
"""

import json
import math
import time
from types import SimpleNamespace

import torch
from torch import nn

import ex09
import fashion_mnist
import publishing
from analyses import runs, variants
from analyses.denoiser_figures import plot_standing
from analyses.denoisers import TUNE_NOISE_SEED, output
from analyses.paired import per_image_psnr, read_comparison, tuned_label
from analyses.measures import mean_psnr, scores, spread
from noise import DEFAULT_NOISE_STD, TEST_NOISE_SEED, add_white_noise

LRS = (3e-4, 1e-3, 3e-3, 1e-2)  # the sheet's 1e-3 inside, a factor of about 3 apart
WIDTHS = (8, 128)  # the sheet's network and the best of the width sweep
EPOCHS = 400  # the most epochs: with 200, both networks were best at the last one


def build_parser(parser):
    parser.add_argument("--out-dir", type=ex09.user_path, default=ex09.HERE / "figures",
                        help="reads <out-dir>/denoisers/denoisers.json; results go to "
                             "<out-dir>/dae_tuning/")
    parser.add_argument("--lrs", type=ex09.positive_float, nargs="+", default=list(LRS),
                        help="Adam learning rates tried")
    parser.add_argument("--widths", type=ex09.positive_int, nargs="+", default=list(WIDTHS),
                        help="networks tuned (8: the sheet's; W: narrow layers widened to W)")
    parser.add_argument("--epochs", type=ex09.positive_int, nargs="+", default=[EPOCHS],
                        help="the most epochs tried, one value for every width or one per "
                             "width in --widths order (the held-out score is read every "
                             "--eval-every epochs)")
    parser.add_argument("--eval-every", type=ex09.positive_int, default=10,
                        help="epochs between two held-out scores: the epoch grid")
    parser.add_argument("--seed", type=ex09.seed_int, default=1,
                        help="the seed every setting is tuned at")
    parser.add_argument("--scored-seeds", type=ex09.seed_int, nargs="+", default=[2, 3, 4],
                        help="seeds the chosen setting is trained at afresh and scored on the "
                             "test images (the tuning --seed is not among them)")
    parser.add_argument("--tune-images", type=ex09.positive_int, default=1000,
                        help="the last N training images, noised, score every setting (the "
                             "denoiser comparison's tuning images); the DAE trains on the others")
    parser.add_argument("--subset-images", type=ex09.positive_int, default=1000,
                        help="the first N test images: the denoiser comparison's scored subset")
    parser.add_argument("--jobs", type=ex09.positive_int, default=2,
                        help="networks trained at a time, one thread each")
    parser.add_argument("--redraw", action="store_true",
                        help="train nothing: draw the figures again from the existing "
                             "<out-dir>/dae_tuning/dae_tuning.json")
    parser.add_argument("--update", action="store_true",
                        help="train only --widths; keep the other widths' curves and scores "
                             "from the existing <out-dir>/dae_tuning/dae_tuning.json")
    fashion_mnist.add_options(parser, ex09.positive_int, ex09.user_path)


def check(args, n_train, n_test, den):
    if (den["subset_images"], den["test_noise_seed"]) != (min(args.subset_images, n_test),
                                                          TEST_NOISE_SEED):
        raise ex09.UsageError(f"denoisers.json scored the first {den['subset_images']} test "
                              f"images with noise seed {den['test_noise_seed']}; make it again "
                              f"with --subset-images {args.subset_images}, or pass its value")
    check_held_out(args, n_train, min(args.epochs))  # the fewest epochs of any width
    args.widths = list(dict.fromkeys(args.widths))
    if len(args.epochs) not in (1, len(args.widths)):
        raise ex09.UsageError(f"--epochs takes one value or one per width ({len(args.widths)}), "
                              f"not {len(args.epochs)}")
    args.epochs = dict(zip(args.widths, args.epochs * (len(args.widths) // len(args.epochs))))
    if args.seed in args.scored_seeds:
        raise ex09.UsageError(f"--scored-seeds repeats the tuning --seed {args.seed}: its "
                              f"network was chosen for its score")
    args.subset_images = min(args.subset_images, n_test)
    args.lrs = list(dict.fromkeys(args.lrs))
    args.scored_seeds = list(dict.fromkeys(args.scored_seeds))


def check_held_out(args, n_train, epochs):
    """The refusals of every training scored on the held-out images (here and in
    analyses/width_choice.py), and the sheet's batch and weight decay (Q2c) set on args."""
    if args.tune_images >= n_train:
        raise ex09.UsageError(f"--tune-images {args.tune_images} leaves no training image to "
                              f"train on (the training set has {n_train})")
    if args.eval_every > epochs:
        raise ex09.UsageError(f"--eval-every {args.eval_every} is more than --epochs "
                              f"{epochs}: no epoch would be scored")
    sheet = ex09.build_parser().parse_args([])
    args.batch_size, args.weight_decay = sheet.batch_size, sheet.weight_decay


def previous(args, settings):
    """The existing record whose other widths --update keeps (None without --update), made
    with the same settings as this run."""
    if not args.update:
        return None
    path = args.out_dir / "dae_tuning" / "dae_tuning.json"
    if not path.exists():
        raise ex09.UsageError(f"--update keeps the other widths of {path}, which does not exist")
    old = json.loads(path.read_text())
    differ = [k for k in settings if old.get(k) != settings[k]]
    if differ:
        raise ex09.UsageError(f"--update: {path} was made with other {', '.join(differ)}; "
                              f"run without --update, or with its settings")
    return old


def merge(record, old):
    """record with old's widths that record did not train."""
    if old is None:
        return record
    keep = [w for w in old["widths"] if w not in record["widths"]]
    merged = dict(record, widths=sorted(keep + record["widths"]))
    merged["epochs"] = {**{str(w): old["epochs"][str(w)] for w in keep}, **record["epochs"]}
    merged["curves"] = [c for c in old["curves"] if c["width"] in keep] + record["curves"]
    merged["tuned"] = {**{str(w): old["tuned"][str(w)] for w in keep}, **record["tuned"]}
    merged["runs"] = old["runs"] + record["runs"]
    return merged


def make_model(width):  # as the width sweep's runs made it (8: ex09.py's own network)
    return variants.build_model("sheet" if width == 8 else f"width{width}")()


def held_out_split(x_train, tune_images):
    """(the images the DAE trains on, the held-out images, their fixed noisy copies)."""
    held_out = x_train[-tune_images:]
    noisy = add_white_noise(held_out, DEFAULT_NOISE_STD,
                            torch.Generator().manual_seed(TUNE_NOISE_SEED))
    return x_train[:-tune_images], held_out, noisy


def noisy_test_images(x_test):
    """The fixed noisy test images every method is scored on (the whole set is noised, so the
    first N images get the same noise as in the denoiser comparison)."""
    return add_white_noise(x_test, DEFAULT_NOISE_STD,
                           torch.Generator().manual_seed(TEST_NOISE_SEED))


def train(task):
    """One DAE: {epoch: held-out PSNR} every eval_every epochs and {epoch: weights} at the
    epochs in task["keep"]; with task["test_images"] = N also {epoch: PSNR on the first N
    test images} and each image's PSNR there, recorded only (analyses/dae_longer.py). Run in
    a worker process with one thread."""
    torch.set_num_threads(1)
    args = task["args"]
    x_train, _, x_test, _ = fashion_mnist.load(args)
    x_fit, held_out, noisy = held_out_split(x_train, args.tune_images)
    n_test = task.get("test_images", 0)
    noisy_test = noisy_test_images(x_test)[:n_test]
    clean_test = x_test[:n_test].numpy().reshape(-1, 28, 28)
    ex09.set_seeds(task["seed"])  # the same initial weights as ex09.py's run at this seed
    model = make_model(task["width"])
    optimizer = ex09.make_optimizer(model, task["lr"], args.weight_decay)
    shuffle_gen = torch.Generator().manual_seed(task["seed"])
    noise_gen = torch.Generator().manual_seed(task["seed"] + 2)
    clean = held_out.numpy().reshape(-1, 28, 28)
    curve, test_curve, test_images, kept = {}, {}, {}, {}
    for epoch in range(1, task["epochs"] + 1):
        loss = ex09.train_epoch(model, optimizer, nn.MSELoss(), x_fit, args.batch_size,
                                shuffle_gen, DEFAULT_NOISE_STD, noise_gen)
        if not math.isfinite(loss):  # a diverged setting scores nothing from here on
            break
        if epoch % args.eval_every == 0:
            curve[epoch] = mean_psnr(output(model, noisy).reshape(-1, 28, 28), clean)
            if n_test:  # per image too, for analyses/paired.py's image-by-image test
                test_images[epoch] = per_image_psnr(
                    output(model, noisy_test).reshape(-1, 28, 28), clean_test)
                test_curve[epoch] = float(test_images[epoch].mean())
        if epoch in task["keep"]:
            kept[epoch] = {k: v.clone() for k, v in model.state_dict().items()}
    return {"width": task["width"], "lr": task["lr"], "seed": task["seed"],
            "held_out_psnr_db": curve, "test_psnr_db": test_curve,
            "test_image_psnr_db": test_images, "weights": kept}


def run_all(tasks, jobs):
    return runs.map_jobs(train, tasks, jobs)


def choose(results, width):
    """The (learning rate, epoch) of the best held-out PSNR of this width's grid."""
    return max(((r["lr"], epoch, psnr) for r in results if r["width"] == width
                for epoch, psnr in r["held_out_psnr_db"].items()), key=lambda c: c[2])


def run(args):
    started = time.perf_counter()
    torch.set_flush_denormal(True)
    den = read_comparison(args.out_dir)  # before any training: without it nothing is drawn
    if args.redraw:
        return redraw(args.out_dir / "dae_tuning", den)
    x_train, _, x_test, _ = fashion_mnist.load(args)
    check(args, len(x_train), len(x_test), den)
    settings = {
        "sigma": DEFAULT_NOISE_STD, "lrs": args.lrs, "eval_every": args.eval_every,
        "seed": args.seed, "scored_seeds": args.scored_seeds, "tune_images": args.tune_images,
        "tune_noise_seed": TUNE_NOISE_SEED, "subset_images": args.subset_images,
        "test_noise_seed": TEST_NOISE_SEED, "batch_size": args.batch_size,
        "weight_decay": args.weight_decay, "train_images": len(x_train) - args.tune_images}
    old = previous(args, settings)  # before any training, so a mismatch costs nothing
    grid = run_all([{"args": args, "width": w, "lr": lr, "seed": args.seed,
                     "epochs": args.epochs[w], "keep": []}
                    for w in args.widths for lr in args.lrs], args.jobs)
    chosen = {w: choose(grid, w) for w in args.widths}
    for w, (lr, epoch, psnr) in chosen.items():
        print(f"width {w}: chosen lr {lr:g}, {epoch} epochs (held-out PSNR {psnr:.3f} dB)",
              flush=True)
    scored = run_all([{"args": args, "width": w, "lr": chosen[w][0], "seed": s,
                      "epochs": chosen[w][1], "keep": [chosen[w][1]]}
                     for w in args.widths for s in args.scored_seeds], args.jobs)
    noisy_test = noisy_test_images(x_test)
    clean_test = x_test.numpy().reshape(-1, 28, 28)
    n = args.subset_images
    tuned = {}
    for w, (lr, epoch, _) in chosen.items():
        per_seed = {}
        for r in (r for r in scored if r["width"] == w):  # fresh seeds, not the tuning seed
            model = make_model(w)
            model.load_state_dict(r["weights"][epoch])
            out = output(model, noisy_test)
            images = per_image_psnr(out[:n].reshape(-1, 28, 28), clean_test[:n])
            per_seed[r["seed"]] = {"subset": scores(out[:n], clean_test[:n]),
                                   "all": scores(out, clean_test),  # and for paired:
                                   "subset_image_psnr_db": [float(p) for p in images]}
        tuned[w] = {"lr": lr, "epochs": epoch, "seeds": sorted(per_seed),
                    "per_seed": per_seed,
                    "subset_psnr_db": spread([v["subset"]["psnr_db"] for v in per_seed.values()]),
                    "subset_ssim": spread([v["subset"]["ssim"] for v in per_seed.values()]),
                    "all_psnr_db": spread([v["all"]["psnr_db"] for v in per_seed.values()])}
    record = {
        **settings, "widths": args.widths,
        "epochs": {str(w): e for w, e in args.epochs.items()},
        "curves": [{"width": r["width"], "lr": r["lr"],
                    "held_out_psnr_db": {str(e): p for e, p in r["held_out_psnr_db"].items()}}
                   for r in grid],
        "tuned": {str(w): v for w, v in tuned.items()},
        "runs": [{"widths": args.widths, "jobs": args.jobs,  # the runs that made this record
                  "wall_seconds": round(time.perf_counter() - started, 1)}]}
    record = merge(record, old)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    with publishing.staged(args.out_dir / "dae_tuning") as stage:
        (stage / "dae_tuning.json").write_text(json.dumps(record, indent=1) + "\n")
        draw(record, den, stage, args.out_dir)
    for w, t in tuned.items():
        p = t["subset_psnr_db"]
        print(f"width {w}, tuned: test PSNR {p['mean']:.2f} +- {p['sd']:.2f} dB "
              f"[{p['min']:.2f}, {p['max']:.2f}] over seeds {t['seeds']}")
    print(f"written to {args.out_dir / 'dae_tuning'}")


def redraw(folder, den):
    runs.redraw(folder, "dae-tuning", lambda record, stage: draw(record, den, stage, folder.parent))


def draw(record, den, stage, out_dir):
    """The tuning curves, and the denoiser comparison's ranking with the tuned networks added,
    and the widened one trained longer where analyses/dae_longer.py has run, and BM3D with its
    blocks tuned and the learned dictionary where analyses/bm3d_blocks.py and patch_prior.py have
    (their records are read as they are: tools/reproduce.py draws again with --redraw once they
    have)."""
    plot_curves(record, stage / "dae_tuning.png")
    added = [{"sigma": record["sigma"], "method": tuned_label(w),
              "kind": "learned", "subset": {"psnr_db": t["subset_psnr_db"]}}
             for w, t in record["tuned"].items()]
    longer = out_dir / "dae_longer" / "dae_longer.json"
    if longer.exists():
        lon = runs.read_record(longer, "dae-longer")
        added.append({"sigma": record["sigma"], "kind": "learned",
                      "method": f"{tuned_label(lon['width'])}, {lon['chosen_epoch']} epochs",
                      "subset": {"psnr_db": lon["test_at_chosen"]}})
    # the classical methods run beside the comparison, blind and clipping-aware (a pair in the
    # figure by these names)
    for command, method in (("bm3d-blocks", "BM3D, blocks tuned"),
                            ("patch-prior", "sparse coding, learned dictionary")):
        path = out_dir / command.replace("-", "_") / f"{command.replace('-', '_')}.json"
        if path.exists():
            for pipeline, r in runs.read_record(path, command)["pipelines"].items():
                added.append({"sigma": record["sigma"], "kind": "filter",
                              "method": method + ("" if pipeline == "blind" else f", {pipeline}"),
                              "subset": {"psnr_db": {"mean": r["test"]["psnr_db"]}}})
    plot_standing(den["summary"] + added, SimpleNamespace(
        subset_images=den["subset_images"], sigmas=den["sigmas"], widths=den["widths"],
        sweep_seeds=den["sweep_seeds"]), stage / "standing.png")


def plot_curves(record, path):
    """Held-out PSNR against epochs, one line per learning rate, one panel per width."""
    plt = ex09._matplotlib()
    widths = sorted(record["widths"])  # the sheet's network first
    fig, axes = plt.subplots(1, len(widths), figsize=(min(6.5, 3.25 * len(widths)), 2.9),
                             squeeze=False, sharey=True)
    for ax, w in zip(axes[0], widths):
        lr, epoch = record["tuned"][str(w)]["lr"], record["tuned"][str(w)]["epochs"]
        for c in (c for c in record["curves"] if c["width"] == w):
            points = sorted((int(e), p) for e, p in c["held_out_psnr_db"].items())
            if points:
                ax.plot(*zip(*points), marker="o", ms=3, label=f"lr {c['lr']:g}")
        ax.plot([epoch], [next(c["held_out_psnr_db"][str(epoch)] for c in record["curves"]
                               if c["width"] == w and c["lr"] == lr)],
                marker="*", ms=14, color="black", ls="none", label="chosen")
        ax.set_title("the sheet's DAE (width 8)" if w == 8 else f"DAE widened to {w}")
        ax.set_xlabel("epoch")
        ax.set_ylabel("PSNR on held-out images (dB)")
        ax.tick_params(labelleft=True)  # sharey hides them on the right panel
        ax.grid(True, alpha=0.3)
    axes[0][-1].legend(loc="lower right")
    ex09.save(fig, path)
