"""Regenerate every committed result from scratch with the default settings, then the report:

    python tools/reproduce.py                     # about an hour on 2 CPU cores
    python tools/reproduce.py --skip-benchmark    # without the 5-minute benchmark

The steps, in order (each is an ordinary command you can also run by hand, from the project
folder):
  python ex09.py --mode plain                              Q2
  python ex09.py --mode denoise                            Q3
  python ex09.py --mode plain --code-activation linear     the ReLU-on-the-code experiment
  python ex09.py --mode plain --seed 1 --out-dir figures/seed1            ... and at seed 1
  python ex09.py --mode plain --code-activation linear --seed 1 --out-dir figures/seed1
  python -m analyses compare                               tables and side-by-side figures
  python -m analyses seeds                                 seeds 0-4, both modes (trains 7 runs)
  python -m analyses revival                               what revives seed 0's dead start
  python -m analyses denoisers                             the DAE against tuned filters, sweeps
  python -m analyses q1                                    Q1 evidence
  python benchmarks/bench.py --json benchmarks/results/bench.json
  python report/make_numbers.py                            numbers.tex from the files above
  latexmk -pdf report.tex    (in report/)                  the PDF
"""

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
STEPS = [
    ([PY, "ex09.py", "--mode", "plain"], ROOT),
    ([PY, "ex09.py", "--mode", "denoise"], ROOT),
    ([PY, "ex09.py", "--mode", "plain", "--code-activation", "linear"], ROOT),
    ([PY, "ex09.py", "--mode", "plain", "--seed", "1", "--out-dir", "figures/seed1"], ROOT),
    ([PY, "ex09.py", "--mode", "plain", "--code-activation", "linear", "--seed", "1",
      "--out-dir", "figures/seed1"], ROOT),
    ([PY, "-m", "analyses", "compare"], ROOT),
    ([PY, "-m", "analyses", "seeds"], ROOT),
    ([PY, "-m", "analyses", "revival"], ROOT),
    ([PY, "-m", "analyses", "denoisers"], ROOT),
    ([PY, "-m", "analyses", "q1"], ROOT),
    ([PY, "benchmarks/bench.py", "--json", "benchmarks/results/bench.json"], ROOT),
    ([PY, "report/make_numbers.py"], ROOT),
    (["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "report.tex"],
     ROOT / "report"),
]


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] + " Overwrites figures/, benchmarks/results/ "
                    "and report/numbers.tex and report.pdf; each step's log goes to "
                    "figures/logs/.")
    parser.add_argument("--skip-benchmark", action="store_true",
                        help="leave benchmarks/results/bench.json as it is")
    args = parser.parse_args(argv)
    steps = [s for s in STEPS if not (args.skip_benchmark and "benchmarks/bench.py" in s[0])]
    started = time.perf_counter()
    log_dir = ROOT / "figures" / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    for number, (command, cwd) in enumerate(steps, 1):
        if command[0] == "latexmk" and shutil.which("latexmk") is None:
            print("latexmk not found: skipping the PDF (see README for the TeX packages)")
            continue
        t0 = time.perf_counter()
        print(f"[{number}/{len(steps)}] {' '.join(command[1:] if command[0] == PY else command)}",
              flush=True)
        log = log_dir / f"step{number}.log"
        with open(log, "w") as handle:
            result = subprocess.run(command, cwd=cwd, stdout=handle, stderr=subprocess.STDOUT)
        if result.returncode != 0:
            sys.exit(f"step {number} failed (exit {result.returncode}); see {log}")
        print(f"      {time.perf_counter() - t0:.0f} s", flush=True)
    print(f"all done in {(time.perf_counter() - started) / 60:.1f} minutes")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("\ninterrupted: the step that was running published nothing")
