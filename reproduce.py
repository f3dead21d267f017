"""Regenerate every committed result from scratch with the default settings, then the report:

    python reproduce.py             # about 14 minutes on 2 CPU cores

The steps, in order (each is an ordinary command you can also run by hand):
  python ex09.py --mode plain                              Q2
  python ex09.py --mode denoise                            Q3
  python ex09.py --mode plain --code-activation linear     the ReLU-on-the-code experiment
  python ex09.py --mode plain --seed 1 --out-dir figures/seed1            ... and at seed 1
  python ex09.py --mode plain --code-activation linear --seed 1 --out-dir figures/seed1
  python ex09.py --mode compare                            tables and side-by-side figures
  python q1_gd_variants.py                                 Q1 evidence
  python benchmarks/bench.py --json benchmarks/results/bench.json
  python report/make_numbers.py                            numbers.tex from the files above
  latexmk -pdf report.tex    (in report/)                  the PDF
"""

import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
PY = sys.executable
STEPS = [
    ([PY, "ex09.py", "--mode", "plain"], ROOT),
    ([PY, "ex09.py", "--mode", "denoise"], ROOT),
    ([PY, "ex09.py", "--mode", "plain", "--code-activation", "linear"], ROOT),
    ([PY, "ex09.py", "--mode", "plain", "--seed", "1", "--out-dir", "figures/seed1"], ROOT),
    ([PY, "ex09.py", "--mode", "plain", "--code-activation", "linear", "--seed", "1",
      "--out-dir", "figures/seed1"], ROOT),
    ([PY, "ex09.py", "--mode", "compare"], ROOT),
    ([PY, "q1_gd_variants.py"], ROOT),
    ([PY, "benchmarks/bench.py", "--json", "benchmarks/results/bench.json"], ROOT),
    ([PY, "report/make_numbers.py"], ROOT),
    (["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "report.tex"], ROOT / "report"),
]


def main():
    started = time.perf_counter()
    log_dir = ROOT / "figures" / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    for number, (command, cwd) in enumerate(STEPS, 1):
        if command[0] == "latexmk" and shutil.which("latexmk") is None:
            print("latexmk not found: skipping the PDF (see README for the TeX packages)")
            continue
        t0 = time.perf_counter()
        print(f"[{number}/{len(STEPS)}] {' '.join(command[1:] if command[0] == PY else command)}",
              flush=True)
        log = log_dir / f"step{number}.log"
        with open(log, "w") as handle:
            result = subprocess.run(command, cwd=cwd, stdout=handle, stderr=subprocess.STDOUT)
        if result.returncode != 0:
            sys.exit(f"step {number} failed (exit {result.returncode}); see {log}")
        print(f"      {time.perf_counter() - t0:.0f} s", flush=True)
    print(f"all done in {(time.perf_counter() - started) / 60:.1f} minutes")


if __name__ == "__main__":
    main()
