"""Regenerate every committed result from scratch with the default settings, then the report:

    python tools/reproduce.py                     # about 7.5 hours on 2 cores (docs/development.md)
    python tools/reproduce.py --skip-benchmark    # without the 7-minute benchmark
    python tools/reproduce.py --dry-run           # list the steps, run nothing

Each step is an ordinary command you can also run by hand, from the project folder (--dry-run
prints them all). What they make:
  python ex09.py --mode plain / --mode denoise              Q2, Q3 (seed 0: the default runs)
  python ex09.py --mode MODE --seed N --out-dir figures/seedN  seeds 1-4, both modes
  python -m analyses variant linear-code --seed 0 / 1       the code without its ReLU
  python -m analyses variant sheet --mode denoise --noise-std S --seed N   noise sweep, N = 1-3
  python -m analyses variant widthW --mode denoise --seed N                width sweep, N = 1-3
  python -m analyses variant mirrored --mode MODE --seed N   the mirrored decoder, N = 0-4
  python -m analyses compare / seeds / denoisers / paired / vst / dae-tuning / dae-longer /
                     width-choice / wide-tuning / bm3d-blocks / patch-prior / leaders / beta1 /
                     mirrored / revival   the analyses
  python -m analyses q1                                     Q1 evidence (times steps: alone)
  python benchmarks/bench.py --json benchmarks/results/bench.json   (times steps: alone)
  python report/make_numbers.py; latexmk -pdf report.tex (in report/)   numbers and the PDF

--jobs steps run at a time (default: as many as the machine has cores), each with an even share
of the cores: on 2 cores, two steps of one thread each finish the trainings about 1.9 times
sooner than one at a time with two threads, and give the same numbers (README). The steps that
time themselves (q1, the benchmark) run alone, first. The denoiser comparison, the longest step
and the last to become ready, also runs alone, with --jobs processes of its own (its results do
not depend on how many). After every step it prints how many are done and about how long the
rest takes, from the step times of the last regeneration (the steps running counted at what
they have left); a run that stops early keeps the earlier times of the steps it did not finish.
A step starts once the runs it reads are finished; if one fails, the others finish and nothing
after it starts.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import publishing  # noqa: E402
from analyses import denoisers, runs, variants  # noqa: E402
from bench import cpu_model  # noqa: E402
from noise import DEFAULT_NOISE_STD  # noqa: E402

PY = sys.executable
FIGURES = ROOT / "figures"
CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
UNKNOWN_STEP_SECONDS = 150  # a step with no recorded time: about one training
SEEDS = (1, 2, 3, 4)
SWEEPS = [denoisers.sweep_run(s, 8, seed) for seed in denoisers.SWEEP_SEEDS
          for s in denoisers.SIGMAS] + [denoisers.sweep_run(DEFAULT_NOISE_STD, w, seed)
                                        for seed in denoisers.SWEEP_SEEDS for w in
                                        denoisers.WIDTHS]
DENOISE_RUNS = ["denoise"] + [f"seed{s}/denoise" for s in SEEDS]
PLAIN_RUNS = ["plain"] + [f"seed{s}/plain" for s in SEEDS]
MIRRORED = [variants.run_folder("mirrored", mode, seed) for seed in (0, *SEEDS)
            for mode in ("plain", "denoise")]
LINEAR = [variants.run_folder("linear-code", "plain", seed) for seed in (0, 1)]


# Steps that spread their own work over --jobs processes: they run alone, and their recorded
# time is scaled by (the jobs it was recorded with) / (the jobs asked for).
WIDE = ("denoisers", "paired", "vst", "dae-tuning", "dae-longer", "width-choice",
        "wide-tuning", "bm3d-blocks", "patch-prior", "leaders")


def steps(skip_benchmark, jobs=CORES):
    """(label, command, folder, labels it waits for, alone?) in the order they may start."""
    def trainings(names):
        return [(name, [PY, *runs.run_command(FIGURES, name)], ROOT, (), False)
                for name in dict.fromkeys(names) if name not in done]

    analysis, done = [PY, "-m", "analyses"], set()
    found = [("q1", analysis + ["q1"], ROOT, (), True)]
    if not skip_benchmark:
        found.append(("benchmark", [PY, "benchmarks/bench.py", "--json",
                                    "benchmarks/results/bench.json"], ROOT, (), True))
    # The denoisers' runs first: their comparison, the longest analysis, can then start as
    # soon as the trainings are done, with every core to itself (WIDE).
    for part in (["plain"] + DENOISE_RUNS + PLAIN_RUNS + SWEEPS + MIRRORED, LINEAR):
        found += trainings(part)
        done.update(part)
        if part != LINEAR:
            found += [("denoisers", analysis + ["denoisers", "--jobs", str(jobs)], ROOT,
                       tuple(dict.fromkeys(part)), True),
                      ("revival", analysis + ["revival"], ROOT, (), False)]
    found += [("dae-tuning", analysis + ["dae-tuning", "--jobs", str(jobs)], ROOT, ("denoisers",),
               True),
              ("dae-longer", analysis + ["dae-longer", "--jobs", str(jobs)], ROOT,
               ("denoisers", "dae-tuning"), True),
              ("width-choice", analysis + ["width-choice", "--jobs", str(jobs)], ROOT, (), True),
              ("wide-tuning", analysis + ["wide-tuning", "--jobs", str(jobs)], ROOT,
               ("dae-tuning",), True),
              ("beta1", analysis + ["beta1", "--jobs", "1"], ROOT, tuple(PLAIN_RUNS), False),
              ("vst", analysis + ["vst", "--jobs", str(jobs)], ROOT, ("denoisers",), True),
              ("bm3d-blocks", analysis + ["bm3d-blocks", "--jobs", str(jobs)], ROOT,
               ("denoisers", "dae-longer"), True),
              ("patch-prior", analysis + ["patch-prior", "--jobs", str(jobs)], ROOT,
               ("denoisers", "dae-longer"), True),
              ("leaders", analysis + ["leaders", "--jobs", str(jobs)], ROOT,
               ("denoisers", "bm3d-blocks", "patch-prior"), True),
              # the ranking figure again, with the network trained longer and the methods run
              # beside the comparison
              ("standing", analysis + ["dae-tuning", "--redraw"], ROOT,
               ("dae-tuning", "dae-longer", "bm3d-blocks", "patch-prior"), False),
              ("paired", analysis + ["paired", "--jobs", str(jobs)], ROOT,
               ("denoisers", "dae-tuning", "dae-longer", "wide-tuning", "vst"), True),
              ("seeds", analysis + ["seeds", "--jobs", "1"], ROOT, PLAIN_RUNS + DENOISE_RUNS,
               False),
              ("mirrored", analysis + ["mirrored", "--jobs", "1"], ROOT,
               tuple(PLAIN_RUNS + DENOISE_RUNS + MIRRORED), False),
              ("compare", analysis + ["compare"], ROOT, ("plain", "denoise", "seed1/plain",
                                                         *LINEAR), False)]
    everything = tuple(label for label, *_ in found)
    found.append(("numbers", [PY, "report/make_numbers.py"], ROOT, everything, False))
    found.append(("report", ["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error",
                             "report.tex"], ROOT / "report", everything + ("numbers",), True))
    return found


MAX_JOBS = 256  # far more than there are steps: more at a time gains nothing


def positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a whole number of steps, got {text!r}") from None
    if not 1 <= value <= MAX_JOBS:
        raise argparse.ArgumentTypeError(f"from 1 to {MAX_JOBS}, got {text[:20]}"
                                         + ("..." if len(text) > 20 else ""))
    return value


def recorded_seconds(jobs, warn=lambda text: None):
    """Each step's time in the last regeneration (figures/reproduce_times.json), a WIDE step's
    scaled from the jobs it ran with to `jobs`; {} (and a warning why) if the file is missing or
    holds anything but finite times of at least 0 s and a whole number of jobs."""
    path = FIGURES / "reproduce_times.json"
    try:
        recorded = json.loads(path.read_text())
        times, ran_with = recorded["step_seconds"], recorded.get("jobs", 1)
        if not isinstance(times, dict) or not all(  # (float() of a 401-digit int overflows)
                type(v) in (int, float) and 0 <= float(v) < float("inf") for v in times.values()):
            raise ValueError("a step time that is not a number of seconds")
        if type(ran_with) is not int or not 1 <= ran_with <= MAX_JOBS:
            raise ValueError(f"jobs {str(ran_with)[:20]} is not a whole number from 1 to "
                             f"{MAX_JOBS}")
    except FileNotFoundError:
        warn(f"no {path.name}: every step counted at {UNKNOWN_STEP_SECONDS} s")
        return {}
    except (OSError, ValueError, KeyError, TypeError, AttributeError, OverflowError) as err:
        warn(f"{path} unusable ({err}): every step counted at {UNKNOWN_STEP_SECONDS} s")
        return {}
    return {k: v * ran_with / jobs if k in WIDE else float(v) for k, v in times.items()}


def critical_path(todo, seconds):
    """The least wall time with unlimited cores: the longest chain of steps that wait for each
    other (a step alone still waits only for what it reads)."""
    finish = {}
    for label, _, _, after, _ in todo:  # todo lists every step after the steps it reads
        finish[label] = max((finish[a] for a in after), default=0.0) + seconds[label]
    return max(finish.values(), default=0.0)


def floor_on(cores, todo, seconds):
    """A lower bound on the wall time with `cores` cores: the critical path, or the steps that
    run alone one after the other plus the rest spread evenly over the cores."""
    alone = sum(seconds[s[0]] for s in todo if s[4])
    rest = sum(seconds[s[0]] for s in todo if not s[4])
    return max(critical_path(todo, seconds), alone + rest / cores)


def simulate(todo, seconds, jobs, done=(), running=None):
    """The wall time of run_steps' schedule if every step took its recorded time, from the start
    or from a state in which the steps `done` are finished and `running` ({label: seconds
    running}) are under way."""
    under_way = running or {}
    running = {s[0]: (s, max(0.0, seconds[s[0]] - under_way[s[0]])) for s in todo
               if s[0] in under_way}
    done = set(done)
    todo, clock = [s for s in todo if s[0] not in done and s[0] not in running], 0.0
    while todo or running:
        for step in [s for s in todo if all(a in done for a in s[3])]:
            label, *_, alone = step
            if len(running) >= jobs or (alone and running) or any(
                    s[4] for s, _ in running.values()):
                break
            todo.remove(step)
            running[label] = (step, clock + seconds[label])
        if not running:
            break
        label, (_, end) = min(running.items(), key=lambda item: item[1][1])
        clock = end
        del running[label]
        done.add(label)
    return clock


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0].rstrip(":") + ". Overwrites figures/, "
                    "benchmarks/results/ and report/numbers.tex and report.pdf; each step's log "
                    "goes to figures/logs/, every step's time to figures/reproduce_times.json.")
    parser.add_argument("--skip-benchmark", action="store_true",
                        help="leave benchmarks/results/bench.json as it is")
    parser.add_argument("--jobs", type=positive_int, default=CORES,
                        help="steps at a time, each with an even share of the cores "
                             f"(default: the {CORES} cores this machine has)")
    parser.add_argument("--dry-run", action="store_true", help="print the steps, run nothing")
    args = parser.parse_args(argv)
    todo = steps(args.skip_benchmark, args.jobs)
    if shutil.which("latexmk") is None:
        print("latexmk not found: the PDF is skipped (see README for the TeX packages)")
        todo = [step for step in todo if step[0] != "report"]
    if args.jobs > CORES:
        print(f"note: {args.jobs} steps at a time on {CORES} cores share them; the estimates "
              f"assume {args.jobs} cores")
    recorded = recorded_seconds(args.jobs, lambda text: print(f"note: {text}"))
    seconds = {s[0]: recorded.get(s[0], UNKNOWN_STEP_SECONDS) for s in todo}
    if args.dry_run:
        print(f"{len(todo)} steps, {args.jobs} at a time (each with "
              f"{count(threads_for(args.jobs), 'thread')}; a step that times itself alone, and "
              f"{', '.join(WIDE)} alone with {count(args.jobs, 'process')}); from the "
              f"recorded step times (figures/reproduce_times.json): about "
              f"{simulate(todo, seconds, args.jobs) / 60:.0f} minutes, critical path "
              f"{critical_path(todo, seconds) / 60:.0f}, floor on {count(args.jobs, 'core')} "
              f"{floor_on(args.jobs, todo, seconds) / 60:.0f}")
        for label, command, cwd, after, _ in todo:
            shown = " ".join(c if c != PY else "python" for c in command).replace(
                f"{ROOT}{os.sep}", "")
            after = "everything above" if label in ("numbers", "report") else ", ".join(after)
            print(f"{label:40s} {'(in report/) ' if cwd != ROOT else ''}{shown}"
                  + (f"\n{'':40s} after: {after}" if after else ""))
        return 0
    log_dir = FIGURES / "logs"
    for folder in (FIGURES, log_dir):  # found now, not when the first step starts
        if folder.exists() and not folder.is_dir():
            sys.exit(f"error: {folder} is a file where a folder of results goes; move it away")
    if (FIGURES / "reproduce_times.json").is_dir():
        sys.exit(f"error: {FIGURES / 'reproduce_times.json'} is a folder where the step times "
                 f"go; move it away")
    log_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    finished_at, cpu = {}, cpu_model()  # the CPU: both times and results depend on it

    def record(done, running):  # after every step: the numbers step reads the times so far
        finished_at.update({label: round(time.perf_counter() - started, 1)
                            for label in done if label not in finished_at})
        print(f"{len(done)} of {len(todo)} steps done, about "
              f"{simulate(todo, seconds, args.jobs, done, running) / 60:.0f} minutes left",
              flush=True)
        # A step this run has not (yet) finished keeps its earlier time, so that an interrupted
        # or partial run leaves the estimates whole; finished_at_seconds: this run's steps only.
        publishing.write_atomically(FIGURES / "reproduce_times.json", json.dumps({
            "jobs": args.jobs, "cores": CORES, "cpu": cpu, "benchmark": not args.skip_benchmark,
            "complete": len(done) == len(todo), "step_seconds": {**recorded, **done},
            "finished_at_seconds": finished_at}, indent=2) + "\n")

    done, failed, left = run_steps(todo, args.jobs, log_dir, record)
    if failed or left:
        sys.exit(f"not finished: {', '.join(failed) or 'no step'} failed; not started: "
                 f"{', '.join(left) or 'none'}")
    print(f"all done in {(time.perf_counter() - started) / 60:.1f} minutes")
    return 0


def threads_for(jobs):
    return max(1, CORES // jobs)


def count(n, word):
    return f"{n} {word}{'' if n == 1 else 'es' if word.endswith('s') else 's'}"


def run_steps(todo, jobs, log_dir, record=lambda done, running: None):
    """Run the steps `jobs` at a time (each with an even share of the cores when more than one),
    each once the steps it waits for are done, an `alone` step with nothing beside it (and every
    thread); after a failure, the running ones finish and no other starts. Returns
    ({label: seconds}, failed, never started)."""
    env = {**os.environ, **({"OMP_NUM_THREADS": str(threads_for(jobs))} if jobs > 1 else {})}
    todo, started, done, failed, running = list(todo), time.perf_counter(), {}, [], {}
    try:
        while todo or running:
            ready = [s for s in todo if all(a in done for a in s[3])] if not failed else []
            for step in ready:
                label, command, cwd, after, alone = step
                if len(running) >= jobs or (alone and running) or any(
                        s[4] for s in running.values()):
                    break
                todo.remove(step)
                log = log_dir / (label.replace("/", "_") + ".log")
                print(f"[{time.perf_counter() - started:5.0f} s] start {label}", flush=True)
                with open(log, "w") as handle:
                    process = subprocess.Popen(command, cwd=cwd, stdout=handle,
                                               stderr=subprocess.STDOUT,
                                               env=publishing.child_env(None if alone else env))
                running[process] = step + (time.perf_counter(), log)
            if not running:
                break  # after a failure, or what is left waits for a step that never ran
            time.sleep(0.2)
            for process in [p for p in running if p.poll() is not None]:
                label, *_, t0, log = running.pop(process)
                if process.returncode:
                    failed.append(label)
                    print(f"step {label} failed (exit {process.returncode}); see {log}", flush=True)
                else:
                    done[label] = round(time.perf_counter() - t0, 1)
                    print(f"[{time.perf_counter() - started:5.0f} s] done  {label} in "
                          f"{done[label]:.0f} s", flush=True)
                    record(done, {s[0]: time.perf_counter() - s[5] for s in running.values()})
    finally:  # Ctrl+C or SIGTERM: the running steps are stopped (they clean up) and waited for
        for process in running:
            process.terminate()
        for process in running:
            process.wait()
    return done, failed, [s[0] for s in todo]


if __name__ == "__main__":
    publishing.handle_signals()  # Ctrl+C and `kill`: the running steps are stopped
    publishing.end_with_parent()
    try:
        sys.exit(main())
    except BrokenPipeError:  # `--dry-run | head`: the reader has seen enough
        sys.exit(0)
    except KeyboardInterrupt:
        sys.exit("\ninterrupted: the steps that were running were stopped and published nothing")
