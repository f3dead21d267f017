"""The run store: where each run of ex09.py (or of a variant) lives, the command that makes it,
training the missing ones, and reading a finished run with every check its readers rely on.

Every analysis and report/make_numbers.py reads runs through load_run: a run is refused with
one line (ex09.UsageError) when it is not the run its folder stands for, when its content is
not sound, or when it changed while it was read.
"""

import csv
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time

import numpy as np
import torch

import ex09
import fashion_mnist
import publishing
from analyses import variants
from noise import DEFAULT_NOISE_STD


def read_record(path, command):
    """An analysis's JSON record, or one line saying which `python -m analyses COMMAND` makes it."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ex09.UsageError(f"{path} is missing: make it first with python -m analyses "
                              f"{command}") from None
    except (OSError, ValueError) as err:
        raise ex09.UsageError(f"{path} is unreadable ({err}); make it again with python -m "
                              f"analyses {command}") from None


def redraw(folder, command, draw, update=None):
    """--redraw: publish `folder` again from its record <folder name>.json (made by `python -m
    analyses COMMAND`), kept as it is unless update(record) changes it, with the figures
    draw(record, stage) makes; nothing is run again, and the folder's other files are kept."""
    path = folder / f"{folder.name}.json"
    record = read_record(path, command)
    text = path.read_text()
    if update:
        update(record)
        text = json.dumps(record, indent=1) + "\n"
    with publishing.staged(folder) as stage:  # the folder is published whole: copy the rest
        for kept in folder.iterdir():
            if kept.is_file():
                shutil.copy2(kept, stage / kept.name)
        (stage / path.name).write_text(text)
        draw(record, stage)
    print(f"drawn again in {folder}")


def map_jobs(work, tasks, jobs):
    """[work(t) for t in tasks], in up to `jobs` worker processes (here when one will do)."""
    if jobs == 1 or len(tasks) == 1:
        return [work(t) for t in tasks]
    from concurrent.futures import ProcessPoolExecutor
    with ProcessPoolExecutor(min(jobs, len(tasks))) as pool:
        return list(pool.map(work, tasks))


def run_command(out_dir, name):
    """The arguments of `python ...`, from the project folder, that (re)make the run in
    out_dir/name: MODE and seedN/MODE are ex09.py's, variants/VARIANT/seedN/MODE (VARIANT may end
    in -sigmaS) are `python -m analyses variant`'s."""
    *path, mode = name.split("/")
    if path and path[0] == "variants":
        variant, _, sigma = path[1].partition("-sigma")
        seed, base = path[2].removeprefix("seed"), out_dir
        command = ["-m", "analyses", "variant", variant, "--mode", mode, "--seed", seed] + (
            ["--noise-std", sigma] if sigma else [])
    else:
        seed, base = (path[0].removeprefix("seed") if path else "0"), (out_dir / name).parent
        command = ["ex09.py", "--mode", mode] + (["--seed", seed] if seed != "0" else [])
    return command + ([] if base == ex09.HERE / "figures" else ["--out-dir", str(base)])


def rerun_command(out_dir, name, config=None):
    """The command that remakes run `name`; given that run's config, with its own settings."""
    command = run_command(out_dir, name)
    if isinstance(config, dict):
        defaults = vars(ex09.build_parser().parse_args([]))
        command += [f"--{k.replace('_', '-')}={config[k]}" for k in RUN_SETTINGS if k in config
                    and k not in ("mode", "variant") and config[k] != defaults.get(k)
                    and not (k == "noise_std" and config.get("mode") == "plain")
                    and f"--{k.replace('_', '-')}" not in command]
    return "python " + " ".join(command)


def run_config(out_dir, name):
    """The config in a run's metrics.json, or None if it cannot be read."""
    try:
        config = json.loads((out_dir / name / "metrics.json").read_text())["config"]
        return config if isinstance(config, dict) else None
    except (OSError, ValueError, TypeError, KeyError):
        return None


# The settings that make a run what it is: a finished run is reused only if all of them match.
RUN_SETTINGS = ("mode", "seed", "epochs", "batch_size", "lr", "weight_decay", "noise_std",
                "tsne_samples", "train_limit", "test_limit", "variant")


def run_arguments(args, name, options):
    """The full command line (after `python`) that makes run `name` with these data options."""
    return [*run_command(args.out_dir, name), "--data-dir", str(args.data_dir), "--mirror",
            args.mirror, *(f"--{k.replace('_', '-')}={v}" for k, v in options.items())] + [
        "--skip-md5"] * args.skip_md5 + [f"--{s}-limit={v}" for s in ("train", "test")
                                         if (v := getattr(args, f"{s}_limit"))]


def expected_settings(args, name, options):
    """The settings that run `name` made with `options` and these data options would have."""
    command = run_arguments(args, name, options)
    variant = command[3] if command[:3] == ["-m", "analyses", "variant"] else None
    expected = vars(ex09.build_parser().parse_args(command[command.index("--mode"):]))
    expected["variant"] = variant
    if expected["mode"] == "plain":
        expected.pop("noise_std")  # unused there
    return expected


def differences(config, expected):
    return [f"{k} {config.get(k)} (not {expected[k]})" for k in RUN_SETTINGS
            if k in expected and config.get(k) != expected[k]]


def settings_differ(args, name, options):
    """The settings in which the finished run `name` differs from what `name` with `options`
    would make ([] if none), or None if its metrics.json cannot be read (as good as not there)."""
    config = run_config(args.out_dir, name)
    return None if config is None else differences(config, expected_settings(args, name, options))


def check_settings(args, name, metrics, options):
    """Refuse a run whose settings, as read with the model that is used, are not the ones
    asked for (it may have been replaced after ensure_runs checked it)."""
    config = metrics.get("config") if isinstance(metrics, dict) else None
    differ = differences(config, expected_settings(args, name, options)) if isinstance(
        config, dict) else ["no config"]
    if differ:
        raise ex09.UsageError(f"{args.out_dir / name} holds a run made with other settings "
                              f"({', '.join(differ)}); redo it or choose another --out-dir:\n  "
                              f"{rerun_command(args.out_dir, name)}")


def seed_run(seed, mode):
    """The folder of the run of `mode` at `seed`: the default run at seed 0, else the seed
    study's (<out-dir>/seedN/MODE)."""
    return mode if seed == 0 else f"seed{seed}/{mode}"


def ensure_runs(args, names, jobs, options):
    """Train every run of `names` that is not there (or damaged), `jobs` at a time: on 2 cores
    two runs of one thread each finish sooner than one after the other with two (README). A
    finished run made with other settings is never overwritten: that is refused. Each run's
    output goes to <out-dir>/logs/. Returns the seconds taken."""
    todo = []
    for name in dict.fromkeys(names):
        differ = settings_differ(args, name, options)
        if differ is None:  # not there, or damaged: made (again)
            todo.append(name)
        elif differ:
            raise ex09.UsageError(f"{args.out_dir / name} holds a run made with other settings "
                                  f"({', '.join(differ)}); it is not overwritten: choose another "
                                  f"--out-dir, or move that run away")
    if todo:  # fetched once, here, not by every run at once
        fashion_mnist.ensure_files(args.data_dir, args.mirror)
    env = {**os.environ, **({"OMP_NUM_THREADS": "1"} if jobs > 1 else {})}
    (args.out_dir / "logs").mkdir(parents=True, exist_ok=True)
    running, started = [], time.perf_counter()
    try:
        while todo or running:
            while todo and len(running) < jobs:
                name = todo.pop(0)
                log = args.out_dir / "logs" / (name.replace("/", "_") + ".log")
                print(f"training {name} (its output: {log})", flush=True)
                with open(log, "w") as handle:
                    running.append((name, log, subprocess.Popen(
                        [sys.executable, *run_arguments(args, name, options)], cwd=ex09.HERE,
                        env=publishing.child_env(env), stdout=handle, stderr=subprocess.STDOUT)))
            time.sleep(0.5)
            for name, log, process in [r for r in running if r[2].poll() is not None]:
                running.remove((name, log, process))
                if process.returncode:
                    raise ex09.UsageError(f"the run {name} failed (exit {process.returncode}); "
                                          f"the end of {log}:\n{log.read_text()[-2000:]}")
    finally:  # on a failure, Ctrl+C or SIGTERM: the other runs stop and clean up too
        for *_, process in running:
            process.terminate()
        for *_, process in running:
            process.wait()
    return time.perf_counter() - started


def require_runs(out_dir, names, who="compare"):
    """Say at once, before any work, which of the needed runs is missing and how to make it."""
    missing = [name for name in names if not (out_dir / name / "metrics.json").exists()]
    if missing:
        commands = "\n  ".join(rerun_command(out_dir, name) for name in missing)
        raise ex09.UsageError(f"{who} needs finished {' and '.join(missing)} run(s) in "
                              f"{out_dir}; run first:\n  {commands}")


class RunChanged(Exception):
    """The run's folder was replaced (a run published over it) while it was read."""


def folder_identity(name):
    """What a run folder's name stands for: its mode, its network (variant), and where the
    name says them its seed (seedN) and noise level (VARIANT-sigmaS; else the sheet's 0.5)."""
    *path, mode = name.split("/")
    identity = {"mode": mode, "variant": "sheet"}
    seeds = [part for part in path if re.fullmatch(r"seed[0-9]+", part)]
    if seeds:
        identity["seed"] = int(seeds[-1].removeprefix("seed"))
    if len(path) >= 2 and path[0] == "variants":
        identity["variant"], _, sigma = path[1].partition("-sigma")
        if mode == "denoise":
            identity["noise_std"] = float(sigma) if sigma else DEFAULT_NOISE_STD
    return identity


class RunFolder:
    """A run's folder read as one state: on systems that can, every file is opened through one
    handle on the folder taken at the start (a run published over it meanwhile cannot mix its
    files in), and the folder is checked to be the same one at the end."""

    def __init__(self, path):
        self.path = path
        self.fd = os.open(path, os.O_RDONLY) if os.open in os.supports_dir_fd else None
        # (of the folder the handle holds: a folder swapped in between is caught at the end)
        self.before = os.stat(path) if self.fd is None else os.fstat(self.fd)

    def exists(self, file):
        try:
            os.stat(file, dir_fd=self.fd) if self.fd is not None else os.stat(self.path / file)
            return True
        except FileNotFoundError:
            return False

    def open(self, file, mode="rb", **kwargs):
        if self.fd is None:
            return open(self.path / file, mode, **kwargs)
        return open(file, mode, opener=lambda f, flags: os.open(f, flags, dir_fd=self.fd),
                    **kwargs)

    def changed(self):
        try:
            return not os.path.samestat(self.before, os.stat(self.path))
        except OSError:
            return True

    def close(self):
        if self.fd is not None:
            os.close(self.fd)


def read_run_file(out_dir, name, folder, file, reader):
    """reader(folder, file), or a message that names the damaged or missing file and the run to
    redo (or says the run changed while it was read)."""
    path = out_dir / name / file
    try:
        return reader(folder, file)
    except Exception as err:  # noqa: BLE001 - json, torch, numpy and csv each raise their own
        if folder.changed():
            raise RunChanged from None
        raise ex09.UsageError(f"{path} is missing or damaged ({type(err).__name__}: "
                              f"{str(err)[:200]}); redo that run:\n  "
                              f"{rerun_command(out_dir, name, run_config(out_dir, name))}"
                              ) from None


def finite_number(value, field, low=-np.inf):
    """A run file's number, or a ValueError that names its field (NaN, null, a string...)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
            math.isfinite(value) and value >= low):
        raise ValueError(f"{field} is {value!r}, not a finite number >= {low}")
    return value


def check_identity(out_dir, name, metrics):
    """Refuse a run that is not the one its folder stands for (another mode, network, seed or
    noise level): a run copied or published into the wrong folder."""
    config = metrics["config"]
    found = {"mode": metrics["mode"], "variant": config.get("variant", "sheet"),
             "seed": config["seed"], "noise_std": config["noise_std"]}
    wrong = [f"{key} {found[key]!r} (the folder stands for {value!r})"
             for key, value in folder_identity(name).items() if found[key] != value]
    if wrong:
        raise ex09.UsageError(f"{out_dir / name} holds another run: {', '.join(wrong)}; move "
                              f"it to its own folder, or make this one:\n  "
                              f"{rerun_command(out_dir, name)}")


def load_run(out_dir, name):
    """A finished run's metrics, losses, t-SNE codes and model, read as one state of its folder
    and checked: that it is the run the folder stands for (mode, network, seed, noise level),
    and that its content is sound (finite weights, a loss row per epoch, t-SNE indices of
    distinct test images)."""
    for attempt in range(3):  # a run published over it while it was read: read the new one
        try:
            folder = RunFolder(out_dir / name)
        except OSError as err:
            raise ex09.UsageError(f"{out_dir / name} cannot be read ({err.strerror}); redo "
                                  f"that run:\n  {rerun_command(out_dir, name)}") from None
        try:
            run = _read_run(out_dir, name, folder)
            if not folder.changed():
                return run
        except RunChanged:
            pass
        finally:
            folder.close()
    raise ex09.UsageError(f"{out_dir / name} changed while it was read, three times (a run "
                          f"being published there?); wait for it to finish, then try again")


def _read_run(out_dir, name, folder):
    variant = folder_identity(name)["variant"]

    def model_from(folder, file):
        with folder.open(file) as handle:
            state = torch.load(handle, map_location="cpu", weights_only=True)
        model = variants.build_model(variant)()
        want = {k: tuple(v.shape) for k, v in model.state_dict().items()}
        got = {k: tuple(v.shape) for k, v in state.items()}
        if got != want:
            raise ValueError(f"its layers {sorted(got.items())[:4]}... are not those of the "
                             f"{variant} network the folder stands for")
        if not all(torch.isfinite(v).all() for v in state.values()):
            raise ValueError("its weights hold NaN or infinite values (training diverged?)")
        model.load_state_dict(state)
        return model.eval()

    def rows_from(folder, file):  # epochs 0..E; a training loss after 0, a test loss at 0 and E
        with folder.open(file, "r", newline="") as handle:
            rows = list(csv.DictReader(handle))
        if not rows or any(None in row or None in row.values() for row in rows):
            raise ValueError("rows missing or incomplete")
        if [r["epoch"] for r in rows] != [str(e) for e in range(len(rows))]:
            raise ValueError("the epochs are not 0, 1, 2, ... in order")
        if len(rows) != metrics["config"]["epochs"] + 1:
            raise ValueError(f"it holds epochs 0 to {len(rows) - 1}, metrics.json says "
                             f"{metrics['config']['epochs']} epochs (a cut file?)")
        for r in rows:
            epoch, last = int(r["epoch"]), int(r["epoch"]) == len(rows) - 1
            for key, needed in (("train_loss", epoch > 0), ("test_loss", epoch == 0 or last)):
                if r[key] or needed:
                    finite_number(float(r[key]) if r[key] else None, f"{key} at epoch {epoch}")
        return rows

    def tsne_from(folder, file):
        if not folder.exists(file):
            return None  # t-SNE skipped in that run; checked where it is needed
        with folder.open(file) as handle, np.load(handle) as arrays:
            tsne = {k: arrays[k] for k in ("indices", "labels", "codes", "coords")}
        n = len(tsne["labels"])
        for key, shape in (("indices", (n,)), ("labels", (n,)), ("codes", (n, None)),
                           ("coords", (n, 2))):
            if len(tsne[key].shape) != len(shape) or any(
                    want not in (None, got) for want, got in zip(shape, tsne[key].shape)):
                raise ValueError(f"{key} has shape {tsne[key].shape}, expected "
                                 f"{tuple('any' if w is None else w for w in shape)}")
            if not np.isfinite(tsne[key]).all():
                raise ValueError(f"{key} holds NaN or infinite values")
        if len(set(tsne["labels"].tolist())) < 2 or not set(tsne["labels"].tolist()) <= set(
                range(len(ex09.CLASS_NAMES))):
            raise ValueError(f"labels {sorted(set(tsne['labels'].tolist()))[:12]} are not "
                             f"at least two of the classes 0-9")
        indices = tsne["indices"]
        if indices.dtype.kind not in "iu" or len(set(indices.tolist())) != n or not (
                0 <= indices.min() and indices.max() < metrics["test_images"]):
            raise ValueError(f"indices are not {n} distinct test images (0 to "
                             f"{metrics['test_images'] - 1})")
        return tsne

    def metrics_from(folder, file):  # the fields the analyses use, of the right kind
        with folder.open(file, "r") as handle:
            metrics = json.load(handle)
        config = metrics["config"]
        if metrics["mode"] not in ("plain", "denoise") or config["mode"] != metrics["mode"]:
            raise ValueError(f"mode is {metrics['mode']!r}, config.mode {config['mode']!r}")
        for key, value in (("config.seed", config["seed"]), ("config.epochs", config["epochs"]),
                           ("test_images", metrics["test_images"])):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{key} is {value!r}, not a whole number >= 0")
        finite_number(config["noise_std"], "config.noise_std", 0)
        for key in ("final_test_loss", "final_train_loss"):
            finite_number(metrics[key], key, 0)
        return metrics

    metrics = read_run_file(out_dir, name, folder, "metrics.json", metrics_from)
    check_identity(out_dir, name, metrics)
    return {"name": name, "metrics": metrics,
            "model": read_run_file(out_dir, name, folder, "model.pt", model_from),
            "losses": read_run_file(out_dir, name, folder, "losses.csv", rows_from),
            "tsne": read_run_file(out_dir, name, folder, "tsne_codes.npz", tsne_from)}
