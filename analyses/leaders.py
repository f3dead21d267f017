"""Which of the two leading classical methods leads? (Q3, beside the denoiser comparison)

    python -m analyses leaders       # writes figures/leaders/; about 15 minutes on 2 cores
    # needs figures/denoisers/, figures/bm3d_blocks/ and figures/patch_prior/

analyses/patch_prior.py (sparse coding over a learned dictionary) and analyses/bm3d_blocks.py
(BM3D with its blocks tuned) each pair their method with the Wiener estimator and the best
network, not with each other. Here both clipping-aware choices run again on the comparison's
noisy test images (the dictionary learned again from the same patches with the same seed),
each mean PSNR is checked against its record (a mismatch writes nothing), and the dictionary is
paired with BM3D image by image, by PSNR and by MSE. examples.png shows both on the images of
the comparison's examples figure (the first test image of five classes), kept in the record so
that --redraw draws both figures again without running anything.

Could the variance-stabilising transform (analyses/stabiliser.py), which gains BM3D with the
library's blocks in analyses/vst.py, reverse the order? BM3D with its tuned blocks runs through
it too: its noise level tuned again by analyses/tuning.py on bm3d-blocks' held-out images (its
blocks and step as chosen there; tuning.png), scored on the same test images and paired with
its clipping-aware pipeline and with the dictionary.
"""

import json
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

import ex09
import fashion_mnist
import publishing
from analyses import bm3d_blocks, patch_prior, runs
from analyses.denoiser_figures import plot_examples, plot_tuning
from analyses.measures import mean_psnr
from analyses.filters import PIPELINES, apply
from analyses.paired import (TOLERANCE_DB, comparison_images, mse_of, paired, per_image_psnr,
                             read_comparison)
from analyses.stabiliser import denoise, stabiliser
from analyses.tuning import tune
from noise import DEFAULT_NOISE_STD

AWARE = "clipping-aware"


def build_parser(parser):
    parser.add_argument("--out-dir", type=ex09.user_path, default=ex09.HERE / "figures",
                        help="reads <out-dir>/denoisers/, bm3d_blocks/, patch_prior/; results go "
                             "to <out-dir>/leaders/")
    parser.add_argument("--jobs", type=ex09.positive_int, default=2,
                        help="processes the images are spread over")
    parser.add_argument("--redraw", action="store_true",
                        help="run nothing: draw examples.png and tuning.png again from "
                             "leaders.json")
    fashion_mnist.add_options(parser, ex09.positive_int, ex09.user_path)


def dictionary_estimate(prior, fit, noisy, sigma, jobs):
    """The noisy images denoised by the dictionary's clipping-aware choice."""
    chosen = prior["pipelines"][AWARE]["chosen"]
    learn = fit.reshape(-1, 28, 28).astype(np.float64)
    atoms = patch_prior.learn_dictionary(learn, chosen["patch"], chosen["atoms"],
                                         prior["learn_patches"], prior["seed"])
    out = patch_prior.denoise_all(noisy, atoms, chosen["patch"], chosen["tolerance"], sigma, jobs)
    return PIPELINES[AWARE](out, sigma)


def bm3d_estimate(blocks, noisy, sigma, jobs):
    """The noisy images denoised by BM3D's clipping-aware choice of blocks and noise level."""
    values = {"profile": blocks["profile"], **blocks["pipelines"][AWARE]["chosen"]}
    pool = ProcessPoolExecutor(jobs) if jobs > 1 else None
    try:
        out = apply(bm3d_blocks.NAME, noisy, sigma, values, pool)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return PIPELINES[AWARE](out, sigma)


def stabilised_bm3d(blocks, tune_noisy, tune_clean, noisy, sigma, jobs):
    """BM3D with its tuned blocks through the stabiliser: the noise level tuned again on the
    held-out images (block and step as chosen), then the test images denoised. Returns the
    chosen values, the tuning curves, the held-out PSNR and the test images' estimate."""
    tables = stabiliser(sigma)
    aware = blocks["pipelines"][AWARE]["chosen"]
    fixed = {"profile": blocks["profile"], "block": aware["block"], "step": aware["step"]}
    pool = ProcessPoolExecutor(jobs) if jobs > 1 else None
    try:
        chosen, curves, best = tune(
            lambda values: mean_psnr(denoise(bm3d_blocks.NAME, tune_noisy, sigma,
                                             {**fixed, **values}, tables, pool), tune_clean),
            bm3d_blocks.PARAMS[:1], lambda text: print(text, flush=True),
            start={"sigma_factor": aware["sigma_factor"]})
        estimate = denoise(bm3d_blocks.NAME, noisy, sigma, {**fixed, **chosen}, tables, pool)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return {**fixed, **chosen}, curves, best, estimate


def draw(record, folder):
    """examples.png and tuning.png from the record, into `folder`."""
    ex = record["examples"]
    plot_examples([(title, np.asarray(images)) for title, images in ex["columns"].items()],
                  ex["classes"], folder / "examples.png",
                  title="BM3D with tuned blocks and the learned dictionary")
    vst = record["stabilised"]
    plot_tuning({"stabilised": {"filter": vst["method"], "sigma": record["sigma"],
                                "pipeline": "stabilised", "parameters": vst["parameters"],
                                "tuned_psnr_db": vst["tuned_psnr_db"]}}, folder / "tuning.png",
                {"stabilised": "-"})


def run(args):
    if args.redraw:
        return runs.redraw(args.out_dir / "leaders", "leaders", draw)
    started = time.perf_counter()
    den = read_comparison(args.out_dir)
    blocks = runs.read_record(args.out_dir / "bm3d_blocks" / "bm3d_blocks.json", "bm3d-blocks")
    prior = runs.read_record(args.out_dir / "patch_prior" / "patch_prior.json", "patch-prior")
    sigma = DEFAULT_NOISE_STD
    fit, tune_clean, tune_noisy, clean, noisy = comparison_images(args, den, blocks["tune_images"])
    psnr, estimates = {}, {}
    for name, record, method in (
            (blocks["pipelines"][AWARE]["method"], blocks,
             lambda: bm3d_estimate(blocks, noisy, sigma, args.jobs)),
            (f"{patch_prior.NAME}, {AWARE}", prior,
             lambda: dictionary_estimate(prior, fit, noisy, sigma, args.jobs))):
        print(f"scoring {name} on {len(clean)} test images", flush=True)
        estimates[name] = method()
        psnr[name] = per_image_psnr(estimates[name], clean)
        recorded = record["pipelines"][AWARE]["test"]["psnr_db"]
        if abs(psnr[name].mean() - recorded) > TOLERANCE_DB:
            raise ex09.UsageError(f"{name}: {psnr[name].mean():.4f} dB here, {recorded:.4f} dB "
                                  f"in its record: other images, noise or settings; make it "
                                  f"again")
    (ours, mine), (other, theirs) = reversed(psnr.items())  # the dictionary minus BM3D
    print(f"tuning {other} through the stabiliser on {len(tune_clean)} held-out training images",
          flush=True)
    chosen, curves, best, estimate = stabilised_bm3d(blocks, tune_noisy, tune_clean, noisy, sigma,
                                                     args.jobs)
    stabilised = per_image_psnr(estimate, clean)
    vst = {"method": f"{bm3d_blocks.NAME}, stabilised, blocks tuned", "chosen": chosen,
           "parameters": curves, "tuned_psnr_db": best,
           "aware_tuned_psnr_db": blocks["pipelines"][AWARE]["tuned_psnr_db"],
           "test_psnr_db": float(stabilised.mean()),
           "minus_aware": paired(stabilised, theirs),
           "dictionary_minus": {**paired(mine, stabilised),
                                "mse": paired(mse_of(mine), mse_of(stabilised))}}
    labels = fashion_mnist.load(args)[3][:len(clean)]
    shown = ex09.first_of_each_class(labels)  # the comparison's examples (denoisers.py)
    columns = {"original": clean[shown], "noisy": noisy[shown],
               "BM3D\naware": estimates[other][shown], "BM3D\nstabilised": estimate[shown],
               "dictionary\naware": estimates[ours][shown]}
    record = {"sigma": sigma, "test_images": len(clean), "test_noise_seed": den["test_noise_seed"],
              "method": ours, "other": other, **paired(mine, theirs),
              "mse": paired(mse_of(mine), mse_of(theirs)),
              "mean_psnr_db": {k: float(v.mean()) for k, v in psnr.items()}, "stabilised": vst,
              "examples": {"classes": [ex09.CLASS_NAMES[int(labels[i])] for i in shown],
                           "columns": {k: np.clip(v, -1, 1).round(4).tolist()
                                       for k, v in columns.items()}},
              "wall_seconds": round(time.perf_counter() - started, 1)}
    args.out_dir.mkdir(parents=True, exist_ok=True)
    with publishing.staged(args.out_dir / "leaders") as stage:
        (stage / "leaders.json").write_text(json.dumps(record, indent=1) + "\n")
        draw(record, stage)
    print(f"{ours} minus {other}: {record['mean']:+.3f} dB [{record['ci95'][0]:+.3f}, "
          f"{record['ci95'][1]:+.3f}] over {record['n']} images, ahead on "
          f"{100 * record['share_ahead']:.0f} %")
    d = vst["dictionary_minus"]
    print(f"{vst['method']}: {vst['test_psnr_db']:.3f} dB ({vst['minus_aware']['mean']:+.3f} dB "
          f"over clipping-aware); {ours} minus it: {d['mean']:+.3f} dB [{d['ci95'][0]:+.3f}, "
          f"{d['ci95'][1]:+.3f}]")
    print(f"written to {args.out_dir / 'leaders'}")
