"""Regenerate every committed result from scratch with the default settings, then the report:

    python tools/reproduce.py                     # 40 minutes on 2 CPU cores
    python tools/reproduce.py --skip-benchmark    # without the 7-minute benchmark
    python tools/reproduce.py --dry-run           # list the steps, run nothing

Each step is an ordinary command you can also run by hand, from the project folder (--dry-run
prints them all). What they make:
  python ex09.py --mode plain / --mode denoise              Q2, Q3 (seed 0: the default runs)
  python ex09.py --mode MODE --seed N --out-dir figures/seedN  seeds 1-4, both modes
  python -m analyses variant linear-code --seed 0 / 1       the code without its ReLU
  python -m analyses variant sheet --mode denoise --noise-std S --seed 1   noise sweep
  python -m analyses variant widthW --mode denoise --seed 1                width sweep
  python -m analyses compare / seeds / denoisers / revival  the analyses of those runs
  python -m analyses q1                                     Q1 evidence (times steps: alone)
  python benchmarks/bench.py --json benchmarks/results/bench.json   (times steps: alone)
  python report/make_numbers.py; latexmk -pdf report.tex (in report/)   numbers and the PDF

Two steps run at a time, each with one thread: on 2 cores that finishes the 17 trainings about
1.9 times sooner than one at a time with two threads, and gives the same numbers (README). The
steps that time themselves (q1, the benchmark) run alone, first. A step starts once the runs it
reads are finished; if one fails, the others finish and nothing after it starts.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analyses import compare, denoisers, variants  # noqa: E402
from noise import DEFAULT_NOISE_STD  # noqa: E402

PY = sys.executable
FIGURES = ROOT / "figures"
SEEDS = (1, 2, 3, 4)
SWEEP_SEED = 1
SWEEPS = [denoisers.sweep_run(s, 8, SWEEP_SEED) for s in denoisers.SIGMAS] + [
    denoisers.sweep_run(DEFAULT_NOISE_STD, w, SWEEP_SEED) for w in denoisers.WIDTHS]
DENOISE_RUNS = ["denoise"] + [f"seed{s}/denoise" for s in SEEDS]
PLAIN_RUNS = ["plain"] + [f"seed{s}/plain" for s in SEEDS]
LINEAR = [variants.run_folder("linear-code", "plain", seed) for seed in (0, 1)]


def steps(skip_benchmark):
    """(label, command, folder, labels it waits for, alone?) in the order they may start."""
    def trainings(names):
        return [(name, [PY, *compare.run_command(FIGURES, name)], ROOT, (), False)
                for name in dict.fromkeys(names) if name not in done]

    analysis, done = [PY, "-m", "analyses"], set()
    found = [("q1", analysis + ["q1"], ROOT, (), True)]
    if not skip_benchmark:
        found.append(("benchmark", [PY, "benchmarks/bench.py", "--json",
                                    "benchmarks/results/bench.json"], ROOT, (), True))
    # The denoisers' runs first: their comparison, the longest analysis, then starts early
    # and runs beside the remaining trainings.
    for part in (["plain"] + DENOISE_RUNS + SWEEPS, PLAIN_RUNS, LINEAR):
        found += trainings(part)
        done.update(part)
        if part == PLAIN_RUNS:
            found += [("revival", analysis + ["revival"], ROOT, (), False)]
        else:
            found += [("denoisers", analysis + ["denoisers", "--jobs", "1"], ROOT,
                       tuple(dict.fromkeys(["plain", *DENOISE_RUNS, *SWEEPS])), False)] * (
                part != LINEAR)
    found += [("seeds", analysis + ["seeds", "--jobs", "1"], ROOT, PLAIN_RUNS + DENOISE_RUNS,
               False),
              ("compare", analysis + ["compare"], ROOT, ("plain", "denoise", "seed1/plain",
                                                         *LINEAR), False)]
    everything = tuple(label for label, *_ in found)
    found.append(("numbers", [PY, "report/make_numbers.py"], ROOT, everything, False))
    found.append(("report", ["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error",
                             "report.tex"], ROOT / "report", everything + ("numbers",), True))
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] + " Overwrites figures/, benchmarks/results/ "
                    "and report/numbers.tex and report.pdf; each step's log goes to "
                    "figures/logs/, every step's time to figures/reproduce_times.json.")
    parser.add_argument("--skip-benchmark", action="store_true",
                        help="leave benchmarks/results/bench.json as it is")
    parser.add_argument("--jobs", type=int, choices=(1, 2), default=2,
                        help="steps at a time (each with one thread when 2)")
    parser.add_argument("--dry-run", action="store_true", help="print the steps, run nothing")
    args = parser.parse_args(argv)
    todo = steps(args.skip_benchmark)
    if shutil.which("latexmk") is None and not args.dry_run:
        print("latexmk not found: the PDF is skipped (see README for the TeX packages)")
        todo = [step for step in todo if step[0] != "report"]
    if args.dry_run:
        for label, command, cwd, after, _ in todo:
            shown = " ".join(c if c != PY else "python" for c in command).replace(
                f"{ROOT}{os.sep}", "")
            after = "everything above" if label in ("numbers", "report") else ", ".join(after)
            print(f"{label:40s} {'(in report/) ' if cwd != ROOT else ''}{shown}"
                  + (f"\n{'':40s} after: {after}" if after else ""))
        return 0
    log_dir = FIGURES / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    finished_at = {}

    def record(done):  # after every step, so that the numbers step reads the times so far
        finished_at.update({label: round(time.perf_counter() - started, 1)
                            for label in done if label not in finished_at})
        (FIGURES / "reproduce_times.json").write_text(json.dumps({
            "jobs": args.jobs, "benchmark": not args.skip_benchmark,
            "step_seconds": done, "finished_at_seconds": finished_at}, indent=2) + "\n")

    done, failed, left = run_steps(todo, args.jobs, log_dir, record)
    if failed or left:
        sys.exit(f"not finished: {', '.join(failed) or 'no step'} failed; not started: "
                 f"{', '.join(left) or 'none'}")
    print(f"all done in {(time.perf_counter() - started) / 60:.1f} minutes")
    return 0


def run_steps(todo, jobs, log_dir, record=lambda done: None):
    """Run the steps `jobs` at a time (each with one thread when more than one), each once the
    steps it waits for are done, an `alone` step with nothing beside it; after a failure, the
    running ones finish and no other starts. Returns ({label: seconds}, failed, never started)."""
    env = {**os.environ, **({"OMP_NUM_THREADS": "1"} if jobs > 1 else {})}
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
                                               env=os.environ if alone else env)
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
                    record(done)
    finally:  # Ctrl+C or SIGTERM: the running steps are stopped (they clean up) and waited for
        for process in running:
            process.terminate()
        for process in running:
            process.wait()
    return done, failed, [s[0] for s in todo]


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # `kill`: as Ctrl+C
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit("\ninterrupted: the steps that were running were stopped and published nothing")
