"""Measure how many small planted bugs the test suite catches (mutation testing by hand).

    python tools/plant_bugs.py --jobs 2      # every bug below; about an hour on 2 cores
    python tools/plant_bugs.py --only 3 7    # just those
    python tools/plant_bugs.py --bugs mine.json --jobs 2   # a list of one's own (see --help)

Each bug is a one-line change in a behaviour a user relies on. For each, the project's tracked
files are copied to a scratch folder, the line is changed there (the working tree is never
touched) and `python -m pytest -x -q` runs on the copy; the bug counts as caught when the suite
fails. Prints one line per bug and the ratio; --json saves them.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import publishing  # noqa: E402  (the project's one way to write a result)
# (file, the exact text to change, what it becomes, the behaviour that breaks)
BUGS = [
    ("ex09.py", "order = torch.randperm(n, generator=shuffle_gen)", "order = torch.arange(n)",
     "no shuffling"),
    ("ex09.py", "loss_fn = nn.MSELoss()", 'loss_fn = nn.MSELoss(reduction="sum")',
     "sum instead of mean squared error"),
    ("ex09.py", "make_optimizer(model, args.lr, args.weight_decay)",
     "make_optimizer(model, 1e-3, args.weight_decay)", "--lr ignored"),
    ("ex09.py", "make_optimizer(model, args.lr, args.weight_decay)",
     "make_optimizer(model, args.lr, 0.0)", "--weight-decay ignored"),
    ("ex09.py", "weight_decay=weight_decay, fused=True", "weight_decay=0.0, fused=True",
     "Adam without weight decay"),
    ("ex09.py", '("reconstruction", recon)', '("reconstruction", data.x_test_in[data.shown])',
     "figure shows the input as the reconstruction"),
    ("ex09.py", "args.noise_std if denoise else 0.0", "args.noise_std",
     "plain mode trains on noisy images"),
    ("ex09.py", "add_white_noise(target, noise_std, noise_gen) if noise_std > 0 else target",
     "target", "denoise mode trains on clean images"),
    ("ex09.py", "add_white_noise(target, noise_std, noise_gen)",
     "add_white_noise(target, noise_std, torch.Generator().manual_seed(0))",
     "the same noise every batch and epoch"),
    ("ex09.py", "shuffle_gen = torch.Generator().manual_seed(args.seed)",
     "shuffle_gen = torch.Generator().manual_seed(0)", "--seed does not drive the shuffle"),
    ("ex09.py", "    torch.manual_seed(seed)", "    torch.manual_seed(0)",
     "--seed does not drive the initial weights"),
    ("ex09.py", "pool = torch.nonzero(labels == c).flatten()",
     "pool = torch.arange(len(labels))", "t-SNE sample not stratified"),
    ("ex09.py", "embed_codes(model, data.x_test, ", "embed_codes(model, data.x_test_in, ",
     "t-SNE of the noisy images' codes"),
    ("ex09.py", "if args.tsne_samples > test_size or", "if args.tsne_samples >= test_size or",
     "--tsne-samples refuses its documented maximum"),
    ("ex09.py", "writer = csv.DictWriter(handle, fieldnames=list(rows[0]))",
     'writer = csv.DictWriter(handle, fieldnames=list(rows[0])[:-1], extrasaction="ignore")',
     "a CSV column silently dropped"),
    ("ex09.py", "    if not math.isfinite(loss):", "    if False:",
     "a diverged run publishes"),
    ("ex09.py", "if not (math.isfinite(value) and", "if not (True and",
     "non-finite option values accepted"),
    ("ex09.py", "if final_dir.exists() and not final_dir.is_dir():", "if False:",
     "a file where the run folder goes is renamed away"),
    ("ex09.py", "return Path(text).expanduser()", "return Path(text)", "'~' not expanded"),
    ("ex09.py", "nn.Sequential(*linear_relu_stack(self.sizes)[:-1], nn.Tanh())",
     "nn.Sequential(*linear_relu_stack(self.sizes)[:-1], nn.Sigmoid())", "Sigmoid output"),
    ("ex09.py", "return total / targets.numel()", "return total / len(targets)",
     "test loss per image, not per pixel"),
    ("ex09.py", "if epoch % args.eval_every == 0 or epoch == args.epochs",
     "if epoch % args.eval_every == 0", "no test after the last epoch"),
    ("ex09.py", "stage = Path(tempfile.mkdtemp(prefix=f\".{final_dir.name}.partial-\", "
                "dir=final_dir.parent))",
     "stage = final_dir.with_name(final_dir.name + '.partial'); shutil.rmtree(stage, "
     "ignore_errors=True); stage.mkdir()", "runs share one staging folder"),
    ("ex09.py", ">= min_fraction).sum())", "> min_fraction).sum())",
     "a unit on for exactly 1 % of the images is not live"),
    ("ex09.py", "first, out = model.g.net[1](model.g.net[0](h)), model.g(h)",
     "first, out = model.g.net[0](h), model.g(h)", "decoder units counted before their ReLU"),
    ("ex09.py", "if epoch == 0 and not tested[\"output_varies\"]:", "if False:",
     "a dead start is not reported"),
    ("analyses/revival.py", "ex09.make_optimizer(model, 1e-3, weight_decay)",
     "ex09.make_optimizer(model, 1e-3, 1e-5)", "revival's Adam always with weight decay"),
    ("fashion_mnist.py", "labels.max() >= len(CLASS_NAMES)", "labels.max() > len(CLASS_NAMES)",
     "label 10 accepted"),
    ("fashion_mnist.py", "if verify_md5 and (actual := md5_of(paths[kind])) != md5:",
     "if False and (actual := md5_of(paths[kind])) != md5:", "md5 never checked"),
    ("fashion_mnist.py", "if time.monotonic() - started > deadline_s:", "if False:",
     "no download deadline"),
    ("fashion_mnist.py", "if parent.exists() and not parent.is_dir():", "if False:",
     "a data dir that is a file"),
    ("fashion_mnist.py", "except (OSError, EOFError, zlib.error) as err:",
     "except (OSError, EOFError) as err:", "damaged deflate stream is a traceback"),
    ("noise.py", "return (x + std * noise).clamp_(-1.0, 1.0)", "return x + std * noise",
     "noise not clipped"),
    ("noise.py", "return (x + std * noise).clamp_(-1.0, 1.0)",
     "return (x + noise).clamp_(-1.0, 1.0)", "noise std ignored"),
    ("analyses/measures.py", "PCA_COMPONENTS = 8", "PCA_COMPONENTS = 7", "PCA with 7 components"),
    ("analyses/measures.py", "KNN_K = 5", "KNN_K = 3", "3 neighbours"),
    ("analyses/compare.py", "manual_seed(TEST_NOISE_SEED))", 'manual_seed(config["seed"] + 2))',
     "compare's noisy inputs from another seed"),
    ("analyses/measures.py", 'structural_similarity(c, e, data_range=2.0)',
     'structural_similarity(c, e, data_range=1.0)', "SSIM on the wrong data range"),
    ("analyses/measures.py", 'peak_signal_noise_ratio(c, e, data_range=2.0)',
     'peak_signal_noise_ratio(c, e, data_range=1.0)', "PSNR on the wrong data range"),
    ("analyses/denoisers.py", "best = max(results, key=results.get)",
     "best = min(results, key=results.get)", "filters tuned to their worst value"),
    ("analyses/denoisers.py", "noisy_test = add_white_noise(x_test, sigma, torch.Generator()"
                              ".manual_seed(TEST_NOISE_SEED))",
     "noisy_test = add_white_noise(x_test, sigma, torch.Generator().manual_seed(7))",
     "denoisers tested on another noisy copy"),
    ("analyses/seeds.py", 'test_codes[("plain", s)], test_codes[("denoise", s)]) for s in',
     'test_codes[("plain", s)], test_codes[("plain", s)]) for s in',
     "seed study's CKA compares a code with itself"),
    ("analyses/seeds.py", "statistics.stdev(values)", "statistics.pstdev(values)",
     "population instead of sample standard deviation"),
    ("analyses/seeds.py", "torch.Generator().manual_seed(TEST_NOISE_SEED))",
     "torch.Generator().manual_seed(TEST_NOISE_SEED + 1))", "seed study's noisy copy differs"),
    ("analyses/q1_gd_variants.py", "best = min(results, key=lambda lr: (results[lr], lr))",
     "best = max(results, key=lambda lr: (results[lr], lr))", "Q1 picks the worst learning rate"),
    ("analyses/q1_gd_variants.py", '"exact_noise": trace / b * (n - b) / (n - 1),',
     '"exact_noise": trace / b,', "Q1's exact gradient noise ignores sampling without replacement"),
    ("analyses/q1_gd_variants.py", "model[1].weight.copy_(components.T)",
     "model[1].weight.copy_(components.T * 0.9)", "Q1's optimum start is not the optimum"),
    ("benchmarks/bench.py", "for flush in (True, False):", "for flush in (True, True):",
     "drift never measured without flushing"),
    ("tools/make_zip.py", '"ex09.py", "noise.py", "fashion_mnist.py",', '"ex09.py", "noise.py",',
     "ZIP lacks the data module"),
    ("ex09.py", "    signal.signal(signal.SIGTERM, signal.default_int_handler)", "    pass",
     "SIGTERM leaves the private stage folder behind"),
    ("analyses/variants.py", "model.f.net = model.f.net[:-1]", "model.f.net = model.f.net",
     "the linear-code variant keeps the ReLU on the code"),
    ("analyses/variants.py", 'if mode == "denoise" and noise_std != DEFAULT_NOISE_STD else ""',
     'if False else ""', "a denoiser at another noise level overwrites the sheet's run"),
    ("analyses/runs.py", "if k in expected and config.get(k) != expected[k]]",
     "if k in expected and False]", "a run made with other settings is reused"),
    ("tools/reproduce.py", "ready = [s for s in todo if all(a in done for a in s[3])]",
     "ready = [s for s in todo if True]", "a step starts before the runs it reads are done"),
    ("tools/reproduce.py", "if len(running) >= jobs or (alone and running) or any(",
     "if len(running) >= jobs or any(", "a timed step runs beside another"),
]


KNOWN = "tests/test_known_answers.py"
NEAREST_TESTS = {
    "ex09.py": ["tests/test_behaviour.py", "tests/test_model.py", "tests/test_cli.py",
                "tests/test_failures.py", KNOWN],
    "fashion_mnist.py": ["tests/test_data.py", KNOWN], "noise.py": ["tests/test_noise.py", KNOWN],
    "publishing.py": ["tests/test_signals.py", "tests/test_failures.py", "tests/test_edges.py",
                      "tests/test_outputs.py"],
    "analyses": ["tests/test_compare.py", "tests/test_denoisers.py", "tests/test_edges.py",
                 "tests/test_run_store.py", "tests/test_clipping.py", "tests/test_linear.py",
                 "tests/test_vst.py",
                 "tests/test_diverging.py", KNOWN],
    "benchmarks": ["tests/test_bench.py", "tests/test_edges.py", "tests/test_outputs.py"],
    "tools": ["tests/test_zip.py", "tests/test_reproduce.py", "tests/test_outputs.py", KNOWN],
    "report": ["tests/test_report.py", "tests/test_outputs.py"],
}


def tracked_files():
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if (ROOT / line).is_file()]


def copy_tree(source, target, files):
    for name in files:
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / name, target / name)


def try_bug(number, bug, snapshot, files, timeout, threads=None, only_tests=None):
    path, old, new, _ = bug
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "project"
        copy_tree(snapshot, copy, files)
        text = (copy / path).read_text()
        if text.count(old) < 1:
            return "not applied"
        (copy / path).write_text(text.replace(old, new, 1))
        env = {**os.environ, "FMNIST_DATA_DIR": str(ROOT / "data")}
        if threads:  # several suites side by side: one thread each, or they thrash
            env["OMP_NUM_THREADS"] = str(threads)
        # The test files nearest the changed file first (quick); only if they all pass, the
        # whole suite. Same verdict as the whole suite alone: a failing test fails in both.
        for tests in ([only_tests] if only_tests else (NEAREST_TESTS.get(path.split("/")[0], []),
                                                        [])):
            try:
                result = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p",
                                         "no:cacheprovider", *tests], cwd=copy, env=env,
                                        capture_output=True, text=True, timeout=timeout)
            except subprocess.TimeoutExpired:
                return "caught (time-out)"
            if result.returncode != 0:
                failed = [line.split(" - ")[0].removeprefix("FAILED ").removeprefix("ERROR ")
                          for line in result.stdout.splitlines()
                          if line.startswith(("FAILED", "ERROR"))]
                return f"caught by {failed[0] if failed else result.stdout.strip()[-200:]}"
        return "missed"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", type=int, nargs="+", help="numbers of the bugs to plant")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per suite run")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--jobs", type=int, default=1,
                        help="suites run side by side (each then gets one thread)")
    parser.add_argument("--bugs", type=Path, help="a JSON list of [file, exact text, what it "
                        "becomes, the behaviour that breaks] to plant instead of the list here")
    parser.add_argument("--tests", nargs="+", help="run only these tests (a quick check that "
                        "they catch a bug), not the whole suite")
    args = parser.parse_args(argv)
    if args.json:  # refused now, not after an hour of suites
        try:
            publishing.check_writable(args.json, ".json")
        except publishing.PublishError as err:
            parser.error(str(err))
    bugs = [tuple(b) for b in json.loads(args.bugs.read_text())] if args.bugs else BUGS
    files = tracked_files()
    # One snapshot of the tree at the start, so that editing it meanwhile changes nothing here.
    snapshot = Path(tempfile.mkdtemp(prefix="plant-bugs-"))
    copy_tree(ROOT, snapshot, files)
    chosen = [(n, bug) for n, bug in enumerate(bugs, 1) if not args.only or n in args.only]

    def one(item):
        number, bug = item
        started = time.perf_counter()
        outcome = try_bug(number, bug, snapshot, files, args.timeout,
                          1 if args.jobs > 1 else None, args.tests)
        result = {"number": number, "file": bug[0], "bug": bug[3], "outcome": outcome,
                  "seconds": round(time.perf_counter() - started)}
        print(f"{number:2d} {bug[0]}: {bug[3]} -> {outcome} ({result['seconds']} s)", flush=True)
        return result

    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = sorted(pool.map(one, chosen), key=lambda r: r["number"])
    shutil.rmtree(snapshot, ignore_errors=True)
    caught = sum(r["outcome"].startswith("caught") for r in results)
    print(f"caught {caught} of {len(results)} planted bugs")
    if args.json:
        publishing.write_atomically(args.json, json.dumps(results, indent=2) + "\n", ".json")
    return 0 if all(r["outcome"] != "not applied" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
