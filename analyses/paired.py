"""Are the filters' leads over the DAE larger than the spread over images? (Q3, beside the
denoiser comparison.)

    python -m analyses paired        # writes figures/paired/; about 4 minutes on 2 cores
    # needs figures/denoisers/ (python -m analyses denoisers) and the runs it read; pairs the
    # tuned networks too where figures/dae_tuning/, dae_longer/, wide_tuning/ exist, and the
    # stabilised filters where figures/vst/ exists

The denoiser comparison scores each method once, on one noisy copy of the first
--subset-images test images: its filters have no spread over seeds. This pairs them image by
image instead. Each filter of FILTERS, at the values denoisers.json records as tuned at sigma
0.5 and in both pipelines, the Wiener estimator both ways (analyses/linear.py, fitted again on
the same training images: nothing tuned; aware, also limited to RANK), non-local means and BM3D through analyses/vst.py's
variance-stabilising pipeline where it was run, and each learned model of LEARNED (its
per-image PSNR averaged over its seeds) are scored on the same noisy images; for every pair,
filter (or Wiener estimator) minus learned model: the mean over images of the per-image PSNR
difference, its sd, a 95 % t interval of the mean
(images as the sample; the noise draw and the test images are fixed, so this is the spread
over images only) and the share of images where the filter is ahead; the same for each
filter's clipping-aware pipeline against its blind one. The networks tuned by
analyses/dae_tuning.py are paired the same way, from the per-image PSNRs it recorded (the mean
over its scored seeds), and so are the widened one trained longer by analyses/dae_longer.py
(at the epoch its held-out images chose) and the wider one of analyses/wide_tuning.py (one
seed, at its held-out choice). Each pair is also compared by the images' MSE, and
each method's PSNR of the MSE pooled over images (and seeds) is recorded: images with a large
error weigh more there than in the mean of per-image PSNRs. Each method's mean PSNR is checked
against denoisers.json (the tuned networks' against dae_tuning.json): a mismatch means its runs
or data are not the ones scored there, and nothing is written.
"""

import json
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import torch

import ex09
import fashion_mnist
import publishing
from analyses import linear, runs, stabiliser
from analyses.denoisers import TUNE_NOISE_SEED
from analyses.filters import PIPELINES, apply
from noise import DEFAULT_NOISE_STD, add_white_noise

FILTERS = ("non-local means", "BM3D", "total variation")  # the report's leading filters
LEARNED = ("DAE", "DAE, code size 128")  # the sheet's DAE and the best network
TOLERANCE_DB = 1e-3  # agreement with denoisers.json's means (float32 model outputs)
# the clipping-aware Wiener estimator limited to the width of every network's first layer
# (784-128): is its lead one of rank?
RANK = 128
RANKED = f"{linear.NAME} of rank {RANK}, clipping-aware"


def tuned_label(width):
    """The name of a network tuned by analyses/dae_tuning.py, in its figure and here."""
    return "DAE, tuned" if int(width) == 8 else f"DAE, widened to {width}, tuned"


def read_tuning(out_dir, den):
    """label -> (each image's PSNR averaged over the scored seeds, the mean dae_tuning.json
    records, each seed's per-image PSNRs) for every tuned network, or {} where the tuning was
    not run."""
    path = out_dir / "dae_tuning" / "dae_tuning.json"
    if not path.exists():
        return {}
    tun = runs.read_record(path, "dae-tuning")
    if (tun["subset_images"], tun["test_noise_seed"]) != (den["subset_images"],
                                                          den["test_noise_seed"]):
        raise ex09.UsageError(f"{path} scored other test images than denoisers.json; make it "
                              f"again with python -m analyses dae-tuning")
    found = {}
    for w, t in tun["tuned"].items():
        seeds = [v["subset_image_psnr_db"] for v in t["per_seed"].values()]
        found[tuned_label(w)] = (np.mean(seeds, axis=0), t["subset_psnr_db"]["mean"], seeds)
    return found


def scored_record(out_dir, command, den):
    """The record of `python -m analyses COMMAND` (in out_dir/<command as a folder name>/), or
    None where it was not run; refused where it scored other test images than denoisers.json."""
    name = command.replace("-", "_")
    path = out_dir / name / f"{name}.json"
    if not path.exists():
        return None
    record = runs.read_record(path, command)
    if record["subset_images"] != den["subset_images"]:
        raise ex09.UsageError(f"{path} scored other test images than denoisers.json; make it "
                              f"again with python -m analyses {command}")
    return record


def read_longer(out_dir, den):
    """{label: (each image's PSNR at the chosen epoch averaged over the seeds, the mean
    dae_longer.json records, each seed's per-image PSNRs)} for the widened DAE trained longer,
    or {} where not run."""
    lon = scored_record(out_dir, "dae-longer", den)
    if lon is None:
        return {}
    label = f"{tuned_label(lon['width'])}, {lon['chosen_epoch']} epochs"
    seeds = list(lon["subset_image_psnr_db_at_chosen"].values())
    return {label: (np.mean(seeds, axis=0), lon["test_at_chosen"]["mean"], seeds)}


def read_wide(out_dir, den):
    """{label: (each image's PSNR at the chosen learning rate and epoch, the mean
    wide_tuning.json records, [the same]) } for the held-out images' width tuned by
    analyses/wide_tuning.py (one seed), or {} where not run."""
    wide = scored_record(out_dir, "wide-tuning", den)
    if wide is None:
        return {}
    chosen, images = wide["chosen"], np.asarray(wide["subset_image_psnr_db_at_chosen"])
    label = f"{tuned_label(wide['width'])}, {chosen['epoch']} epochs, seed {wide['seed']}"
    return {label: (images, chosen["test_psnr_db"], [images])}


def stabilised(out_dir, noisy, clean, psnr, mse, recorded, jobs):
    """Non-local means and BM3D through analyses/vst.py's variance-stabilising pipeline, at the
    values it tuned, scored into psnr and mse (their means recorded from vst.json for the
    check): [(label, filter, "stabilised")], or [] where the analysis was not run."""
    path = out_dir / "vst" / "vst.json"
    if not path.exists():
        return []
    record = runs.read_record(path, "vst")
    tables, found = stabiliser.stabiliser(record["sigma"]), []
    pool = ProcessPoolExecutor(jobs) if jobs > 1 else None
    try:
        for name, result in record["methods"].items():
            label = f"{name}, stabilised"
            psnr[label] = per_image_psnr(stabiliser.denoise(
                name, noisy, record["sigma"], result["chosen"], tables, pool), clean)
            mse[label] = mse_of(psnr[label])
            recorded[label] = result["test_psnr_db"]["stabilised"]
            found.append((label, name, "stabilised"))
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return found


def build_parser(parser):
    parser.add_argument("--out-dir", type=ex09.user_path, default=ex09.HERE / "figures",
                        help="reads <out-dir>/denoisers/denoisers.json and its runs; results "
                             "go to <out-dir>/paired/")
    parser.add_argument("--jobs", type=ex09.positive_int, default=2,
                        help="processes the filters' images are spread over")
    fashion_mnist.add_options(parser, ex09.positive_int, ex09.user_path)


def per_image_psnr(estimate, clean):
    """Each image's PSNR in dB (data range 2), the estimate clipped to the image range as the
    denoiser comparison scores it, capped at 100 dB as there."""
    error = np.mean((np.clip(estimate, -1, 1) - clean).reshape(len(clean), -1) ** 2, axis=1)
    return np.minimum(10 * np.log10(4.0 / np.maximum(error, 1e-30)), 100.0)


def mse_of(psnr_db):
    """Per-image MSE from per-image PSNR (data range 2)."""
    return 4.0 * 10 ** (-np.asarray(psnr_db, np.float64) / 10)


def paired(a, b):
    """a minus b, image by image: mean, sd, 95 % t interval of the mean, share a ahead, n."""
    from scipy.stats import t
    d = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    half = t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
    return {"mean": float(d.mean()), "sd": float(d.std(ddof=1)),
            "ci95": [float(d.mean() - half), float(d.mean() + half)],
            "share_ahead": float(np.mean(d > 0)), "n": len(d)}


def read_comparison(out_dir):
    return runs.read_record(out_dir / "denoisers" / "denoisers.json", "denoisers")


def leads(ours, others, psnr, out_dir, den):
    """`ours` minus each of `others` and of the widened DAE trained longer (where
    analyses/dae_longer.py has run), image by image by PSNR and by MSE, from per-image PSNRs
    (a network's MSE averaged over its seeds): (the pairs, each method's mean PSNR and PSNR of
    the pooled MSE) for an analysis run beside the comparison."""
    psnr = dict(psnr)
    mse = {m: mse_of(v) for m, v in psnr.items()}
    longer = read_longer(out_dir, den)
    for label, (values, _, per_seed) in longer.items():
        psnr[label], mse[label] = values, np.mean(mse_of(per_seed), axis=0)
    pairs = [{"method": ours, "other": other, **paired(psnr[ours], psnr[other]),
              "mse": paired(mse[ours], mse[other])} for other in (*others, *longer)]
    return pairs, {
        "mean_psnr_db": {m: float(v.mean()) for m, v in psnr.items()},
        "pooled_psnr_db": {m: float(10 * np.log10(4.0 / v.mean())) for m, v in mse.items()}}


def print_leads(pairs):
    for p in pairs:
        print(f"{p['method']} minus {p['other']}: {p['mean']:+.3f} dB [{p['ci95'][0]:+.3f}, "
              f"{p['ci95'][1]:+.3f}] over {p['n']} images")


def comparison_images(args, den, n_tune):
    """The images denoisers.json tuned and scored on, at sigma 0.5: (the training images less
    the held-out ones, as loaded; the first n_tune held-out images clean and noisy; the first
    test images it scored, clean and noisy), the last four float64 stacks of 28x28 images with
    the comparison's noise draws. Refuses more tuning images than it held out."""
    if n_tune > den["tune_images"]:
        raise ex09.UsageError(f"--tune-images {n_tune}: denoisers.json held out "
                              f"{den['tune_images']} training images")
    x_train, _, x_test, _ = fashion_mnist.load(args)
    held_out, n_test = x_train[-den["tune_images"]:], den["subset_images"]

    def stack(x):
        return x.numpy().reshape(-1, 28, 28).astype(np.float64)
    noisy_tune = add_white_noise(held_out, DEFAULT_NOISE_STD, torch.Generator().manual_seed(
        TUNE_NOISE_SEED))[:n_tune]
    noisy_test = add_white_noise(x_test, DEFAULT_NOISE_STD, torch.Generator().manual_seed(
        den["test_noise_seed"]))[:n_test]
    return (x_train[:-den["tune_images"]].numpy(), stack(held_out[:n_tune]), stack(noisy_tune),
            stack(x_test[:n_test]), stack(noisy_test))


def run(args):
    den = read_comparison(args.out_dir)
    x_train, _, x_test, _ = fashion_mnist.load(args)
    n = den["subset_images"]
    clean = x_test[:n].numpy().reshape(-1, 28, 28).astype(np.float64)
    noisy = add_white_noise(x_test, DEFAULT_NOISE_STD,
                            torch.Generator().manual_seed(den["test_noise_seed"]))[:n]
    recorded = {s["method"]: s["subset"]["psnr_db"]["mean"] for s in den["summary"]
                if s["sigma"] == DEFAULT_NOISE_STD}
    psnr, mse = {}, {}
    for label in LEARNED:  # per image, the mean over the seeds the comparison scored
        per_seed = []
        for seed, name in den["groups"][label].items():
            with torch.no_grad():
                out = runs.load_run(args.out_dir, name)["model"].eval()(noisy).numpy()
            per_seed.append(per_image_psnr(out.reshape(-1, 28, 28), clean))
        psnr[label] = np.mean(per_seed, axis=0)
        mse[label] = np.mean(mse_of(per_seed), axis=0)  # each image's MSE, seeds averaged
    tuned_nets = {**read_tuning(args.out_dir, den), **read_longer(args.out_dir, den),
                  **read_wide(args.out_dir, den)}
    for label, (values, mean, per_seed) in tuned_nets.items():
        psnr[label], recorded[label] = values, mean
        mse[label] = np.mean(mse_of(per_seed), axis=0)
    learned = list(LEARNED) + list(tuned_nets)
    tuned = [t for t in den["tuning"] if t["sigma"] == DEFAULT_NOISE_STD
             and t["filter"] in FILTERS]
    pool = ProcessPoolExecutor(args.jobs) if args.jobs > 1 else None
    try:
        for t in tuned:
            estimate = apply(t["filter"], noisy.numpy().reshape(-1, 28, 28).astype(np.float64),
                             DEFAULT_NOISE_STD, t["chosen"], pool)
            psnr[t["method"]] = per_image_psnr(PIPELINES[t["pipeline"]](
                estimate, DEFAULT_NOISE_STD), clean)
            mse[t["method"]] = mse_of(psnr[t["method"]])
            print(f"scored {t['method']}", flush=True)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    classical = [(t["method"], t["filter"], t["pipeline"]) for t in tuned]
    for label, pipeline, rank in ((linear.NAME, "blind", None),
                                  (f"{linear.NAME}, clipping-aware", "clipping-aware", None),
                                  (RANKED, "clipping-aware", RANK)):
        estimator = linear.fit(x_train[:-den["tune_images"]].numpy(), DEFAULT_NOISE_STD,
                               aware=pipeline != "blind", rank=rank)
        psnr[label] = per_image_psnr(linear.estimate(estimator, noisy.numpy()).reshape(
            -1, 28, 28), clean)
        mse[label] = mse_of(psnr[label])
        classical.append((label, label.split(",")[0], pipeline))
    classical += stabilised(args.out_dir, noisy.numpy().reshape(-1, 28, 28).astype(np.float64),
                            clean, psnr, mse, recorded, args.jobs)
    for method, values in psnr.items():  # the same methods, images and noise as there?
        if method != RANKED and abs(values.mean() - recorded[method]) > TOLERANCE_DB:
            raise ex09.UsageError(
                f"{method}: {values.mean():.4f} dB here, {recorded[method]:.4f} dB in "
                f"denoisers.json: its runs or data are not the ones scored there; make it "
                f"again with python -m analyses denoisers")
    pairs = [{"filter": method, "learned": label, **paired(psnr[method], psnr[label]),
              # the same images by their MSE (filter minus network: below 0, the filter ahead)
              "mse": paired(mse[method], mse[label])}
             for method, _, _ in classical for label in learned]
    # What telling a filter the noise model gains it, image by image: aware minus blind.
    gains = [{"filter": name, **paired(psnr[method], psnr[name])}
             for method, name, pipeline in classical if pipeline == "clipping-aware"
             and name in psnr]
    args.out_dir.mkdir(parents=True, exist_ok=True)
    with publishing.staged(args.out_dir / "paired") as stage:
        (stage / "paired.json").write_text(json.dumps({
            "sigma": DEFAULT_NOISE_STD, "images": n, "test_noise_seed": den["test_noise_seed"],
            "learned_seeds": {label: sorted(den["groups"][label]) for label in LEARNED},
            "tuned_networks": list(tuned_nets),
            "mean_psnr_db": {m: float(v.mean()) for m, v in psnr.items()},
            "pooled_psnr_db": {m: float(10 * np.log10(4.0 / v.mean())) for m, v in mse.items()},
            "pairs": pairs, "aware_minus_blind": gains}, indent=1) + "\n")
    for p in pairs:
        print(f"{p['filter']:36s} minus {p['learned']:20s} {p['mean']:+.2f} dB "
              f"[{p['ci95'][0]:+.2f}, {p['ci95'][1]:+.2f}], ahead on {100 * p['share_ahead']:.0f} %"
              f" of {p['n']} images")
    print(f"written to {args.out_dir / 'paired'}")
