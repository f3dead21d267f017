"""The house: no import circle, the sheet's script within its budget, every script's --help
does nothing else, and no module is loaded twice in one process."""

import ast
import os
import subprocess
import sys

import pytest

from conftest import ROOT

CORE = {"ex09", "noise", "fashion_mnist", "cuda_graph", "publishing"}  # the hand-in's own modules


def project_modules():
    """module name -> the project modules it imports (static imports, plus the analyses that
    analyses/__main__.py names as strings for importlib)."""
    files = [p for p in ROOT.rglob("*.py") if not {".venv", "tests", ".git"} & set(p.parts)]
    names = {}
    for path in files:
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    graph = {}
    for name, path in names.items():
        tree = ast.parse(path.read_text())
        found = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    package = name.rsplit(".", node.level)[0] if "." in name else name
                    base = f"{package}.{base}".rstrip(".")
                found |= {base} | {f"{base}.{alias.name}" for alias in node.names}
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.add(node.value)  # importlib.import_module("analyses.compare")
        graph[name] = {m for m in found if m in names and m != name}
    return graph


def test_the_import_graph_has_no_circle():
    graph = project_modules()
    assert {"ex09", "fashion_mnist", "noise", "analyses.compare"} <= set(graph)
    state = {}

    def visit(node, path):
        state[node] = "open"
        for nxt in graph[node]:
            assert state.get(nxt) != "open", f"import circle: {' -> '.join(path + [nxt])}"
            if nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for node in graph:
        if node not in state:
            visit(node, [node])


def test_the_sheets_modules_import_no_analysis_or_tool():
    graph = project_modules()
    for name in CORE:
        assert graph[name] <= CORE, f"{name} imports {graph[name] - CORE}"
    assert graph["fashion_mnist"] == set() and graph["noise"] == set()


def test_ex09_stays_readable_in_one_sitting():
    lines = (ROOT / "ex09.py").read_text().count("\n")
    # The layout issue asks for about 500 lines; 11 more since the GPU's captured step (its
    # code is in cuda_graph.py, the hook in train()), published folders readable by all, a full
    # disk naming the figure it could not write and "done in" counting the start-up.
    assert lines <= 541, f"ex09.py has {lines} lines"


def snapshot(folder):
    skip = {".venv", ".git", "__pycache__", ".pytest_cache", "data"}
    return {str(p): p.stat().st_mtime_ns for p in folder.rglob("*")
            if not skip & set(p.relative_to(folder).parts)}


@pytest.mark.parametrize("command", [
    ["ex09.py"], ["-m", "analyses"], ["-m", "analyses", "compare"], ["-m", "analyses", "q1"],
    ["-m", "analyses", "paired"], ["-m", "analyses", "dae-tuning"],
    ["tools/make_zip.py"], ["tools/reproduce.py"], ["tools/plant_bugs.py"], ["benchmarks/bench.py"],
    ["report/make_numbers.py"],
])
def test_every_script_answers_help_and_does_nothing_else(command, tmp_path):
    before = snapshot(ROOT)
    # Scripts run from a scratch folder (a stray relative write would land there); the
    # analyses run as `python -m` from the project folder, as documented.
    cwd = ROOT if command[0] == "-m" else tmp_path
    script = command if command[0] == "-m" else [str(ROOT / command[0]), *command[1:]]
    result = subprocess.run([sys.executable, *script, "--help"], cwd=cwd, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage:") and "--help" in result.stdout
    assert list(tmp_path.iterdir()) == []
    assert snapshot(ROOT) == before


SITECUSTOMIZE = """
import atexit, os, sys
def _record():
    # One line per distinct module object (multiprocessing's __mp_main__ is __main__ again).
    modules = {id(m): m for m in list(sys.modules.values()) if getattr(m, "__file__", None)}
    files = [os.path.abspath(m.__file__) for m in modules.values() if os.path.isabs(m.__file__)]
    with open(os.environ["MODULES_OUT"], "w") as out:
        out.write("\\n".join(f for f in files if f.startswith(os.environ["MODULES_ROOT"])
                              and ".venv" not in f))
atexit.register(_record)
"""


@pytest.mark.parametrize("command", [
    ["ex09.py", "--mode", "plain"], ["ex09.py", "--mode", "denoise"], ["-m", "analyses", "compare"]])
def test_no_module_is_loaded_twice_in_one_process(command, fake_data, tmp_path_factory):
    """A real process of each command records, at exit, the file of every loaded module (via a
    sitecustomize): no project file may appear twice (as __main__ and again by name)."""
    hook = tmp_path_factory.mktemp("hook")
    (hook / "sitecustomize.py").write_text(SITECUSTOMIZE)
    out = tmp_path_factory.mktemp("runs")
    if command[0] == "-m":  # compare reads finished runs
        import ex09
        for mode in ("plain", "denoise"):
            assert ex09.main(["--mode", mode, "--data-dir", str(fake_data), "--out-dir", str(out),
                              "--skip-md5", "--epochs", "1", "--tsne-samples", "20"]) == 0
    record = hook / "modules.txt"
    env = {**os.environ, "PYTHONPATH": str(hook), "MODULES_OUT": str(record),
           "MODULES_ROOT": str(ROOT.resolve())}
    extra = ["--epochs", "1", "--tsne-samples", "10"] if command[0] == "ex09.py" else []
    result = subprocess.run([sys.executable, *command, "--data-dir", str(fake_data), "--out-dir",
                             str(out), "--skip-md5", *extra], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    files = record.read_text().split("\n")
    assert any(f.endswith("ex09.py") for f in files)
    assert len(files) == len(set(files)), sorted(files)
