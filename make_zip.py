"""Build the hand-in ZIP: the code, requirements and README; nothing generated, no data, no
weights, no caches.

    python make_zip.py            # writes dist/ex09-handin.zip
"""

import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
# Everything a grader needs to rerun the exercise; paths inside the ZIP are relative.
CONTENTS = ("ex09.py", "noise.py", "compare.py", "q1_gd_variants.py", "benchmarks/bench.py",
            "requirements.txt", "README.md")
FOLDER = "ex09"  # the ZIP unpacks into one folder


def build(target):
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in CONTENTS:
            archive.write(ROOT / name, f"{FOLDER}/{name}")
    partial.replace(target)  # no half-written ZIP if interrupted
    return target


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    target = Path(argv[0]) if argv else ROOT / "dist" / "ex09-handin.zip"
    build(target)
    print(f"wrote {target} ({target.stat().st_size // 1024} KiB): {', '.join(CONTENTS)}")


if __name__ == "__main__":
    main()
