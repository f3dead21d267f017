"""Issue 28's "one way out": report/make_numbers.py reads runs through the run store and
refuses what is not a number (cause G); nothing a script writes lands on a target that is not
its own kind (cause D), on a folder that holds another run, or under a folder name that does
not keep its value (cause I). Each refusal: one line, a non-zero exit, earlier results intact."""

import json
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "report"))
import make_numbers  # noqa: E402

FIG = ROOT / "figures"


def project_copy(tmp_path):
    """The results make_numbers reads, in a project folder of their own."""
    root = tmp_path / "project"
    shutil.copytree(FIG, root / "figures", ignore=lambda folder, names: [
        n for n in names if folder == str(FIG / "variants") and n != "linear-code"])
    shutil.copytree(ROOT / "benchmarks" / "results", root / "benchmarks" / "results")
    (root / "report").mkdir()
    (root / "report" / "numbers.tex").write_text("% earlier numbers\n")
    return root


def refused(root, *fragments):
    with pytest.raises(SystemExit) as stop:
        make_numbers.main([str(root)])
    message = str(stop.value)
    assert message.startswith("error: ") and "\n" not in message.strip(), message
    for fragment in fragments:
        assert fragment in message, message
    if (root / "report").is_dir():
        assert (root / "report" / "numbers.tex").read_text() == "% earlier numbers\n"
    return message


def edit_json(path, change):
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


@pytest.fixture
def project(tmp_path):
    if not (FIG / "plain" / "metrics.json").exists():
        pytest.skip("no committed results")
    return project_copy(tmp_path)


# ----------------------------------------------------------------------------- cause G

def test_g_a_nan_loss_is_refused_not_written_as_nan(project):
    edit_json(project / "figures" / "plain" / "metrics.json",
              lambda m: m.update(final_train_loss=float("nan")))
    refused(project, "final_train_loss is nan")


def test_g_true_where_a_number_belongs_is_refused(project):
    path = project / "figures" / "compare" / "comparison.json"
    edit_json(path, lambda c: next(r for r in c["reconstruction"] if r["model"] ==
                                   "plain-linear-code").update(test_mse=True))
    refused(project, "True where a finite number belongs")


def test_g_a_negative_loss_is_refused(project):
    edit_json(project / "figures" / "denoise" / "metrics.json",
              lambda m: m.update(final_test_loss=-3.5))
    refused(project, "final_test_loss is -3.5")


@pytest.mark.parametrize("key, value, shown", [
    ("batch_size", 64, "batch_size 64 (not 128)"), ("lr", 0.01, "lr 0.01 (not 0.001)"),
    ("weight_decay", 0.0, "weight_decay 0.0 (not 1e-05)")])
def test_g_a_seed_one_pair_of_other_settings_beside_the_seed_study_is_refused(project, key,
                                                                              value, shown):
    edit_json(project / "figures" / "seed1" / "plain" / "metrics.json",
              lambda m: m["config"].update({key: value}))
    refused(project, "seed1/plain was made with other settings", shown)


def test_g_a_seed_one_run_trained_for_fewer_epochs_is_refused(project):
    """A shorter run, whole in itself (its losses end at its own last epoch): only the
    comparison with the default run's settings can refuse it."""
    folder = project / "figures" / "seed1" / "plain"
    edit_json(folder / "metrics.json", lambda m: m["config"].update(epochs=30))
    lines = (folder / "losses.csv").read_text().splitlines(keepends=True)
    (folder / "losses.csv").write_text("".join(lines[:1 + 31]))  # header, epochs 0 to 30
    refused(project, "seed1/plain was made with other settings", "epochs 30 (not 50)")


def test_g_a_run_of_another_mode_in_a_seed_folder_is_refused(project):
    folder = project / "figures" / "seed2"
    shutil.rmtree(folder / "plain")
    shutil.copytree(folder / "denoise", folder / "plain")
    refused(project, "seed2/plain holds another run", "mode 'denoise'")


def test_g_a_metrics_file_that_is_a_folder_is_refused(project):
    path = project / "figures" / "plain" / "metrics.json"
    path.unlink()
    path.mkdir()
    refused(project, "metrics.json")


def test_g_a_list_where_a_loss_belongs_is_refused(project):
    edit_json(project / "figures" / "q1" / "q1_results.json",
              lambda q: q["variants"]["batch"].update(tuning_final_loss=[1, 2]))
    refused(project, "damaged")


def test_g_zero_floor_excess_is_refused(project):
    def zero(q):
        for variant in q["variants"].values():
            variant["floor_excess"] = [0.0] * len(variant["floor_excess"])
    edit_json(project / "figures" / "q1" / "q1_results.json", zero)
    refused(project, "damaged")


def test_g_a_file_given_as_the_project_is_refused(tmp_path):
    (tmp_path / "hostname").write_text("host\n")
    refused(tmp_path / "hostname", "is not a folder")


# ----------------------------------------------------------------------------- cause D

def load_tool(path, name):
    import importlib.util
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_d_a_zip_is_never_written_over_a_source_file_a_folder_or_a_fifo(tmp_path, capsys):
    import os
    make_zip = load_tool(ROOT / "tools" / "make_zip.py", "make_zip")
    source = tmp_path / "ex09.py"
    source.write_text("print('the sheet')\n")
    fifo = tmp_path / "pipe.zip"
    os.mkfifo(fifo)
    for target, fragment in ((source, "must end in .zip"), (fifo, "not a regular file")):
        with pytest.raises(SystemExit) as stop:
            make_zip.main([str(target)])
        assert fragment in str(stop.value) and "\n" not in str(stop.value)
    assert source.read_text() == "print('the sheet')\n" and fifo.is_fifo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ex09.py", "pipe.zip"]


def test_d_bench_json_is_never_written_over_a_source_file_or_a_fifo(tmp_path):
    """Refused before any measuring, in the process a user starts."""
    import os
    source = tmp_path / "noise.py"
    source.write_text("NOISE = 1\n")
    fifo = tmp_path / "results.json"
    os.mkfifo(fifo)
    for target, fragment in ((source, "must end in .json"), (fifo, "not a regular file")):
        done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench.py"), "--json",
                               str(target), "--data-dir", str(tmp_path)], capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 1 and fragment in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert source.read_text() == "NOISE = 1\n" and fifo.is_fifo()


def test_d_bench_says_in_one_line_when_its_measured_run_fails(tmp_path):
    """The --rss-epochs run failing (a full TMPDIR, here no data): one line, no traceback."""
    from types import SimpleNamespace

    import ex09
    bench = load_tool(ROOT / "benchmarks" / "bench.py", "bench")
    args = SimpleNamespace(rss_epochs=1, data_dir=tmp_path / "no-data", train_limit=None,
                           skip_md5=True)
    with pytest.raises(ex09.UsageError, match="--rss-epochs measures failed \\(exit 1"):
        bench.peak_rss_of_plain_run(args)


def test_d_bench_reports_the_childs_peak_rss_in_mebibytes(tmp_path, monkeypatch):
    """Linux reports ru_maxrss in kilobytes (KiB): 3 * 1024 of them are 3.0 MB here."""
    import resource
    from types import SimpleNamespace
    bench = load_tool(ROOT / "benchmarks" / "bench.py", "bench")
    monkeypatch.setattr(bench.subprocess, "run", lambda *a, **k: SimpleNamespace(
        returncode=0, stderr=""))
    monkeypatch.setattr(resource, "getrusage", lambda who: SimpleNamespace(ru_maxrss=3 * 1024))
    args = SimpleNamespace(rss_epochs=1, data_dir=tmp_path, train_limit=None, skip_md5=True)
    assert bench.peak_rss_of_plain_run(args)[0] == 3.0


def test_d_a_dangling_link_is_never_a_target(tmp_path):
    import publishing
    link = tmp_path / "results.json"
    link.symlink_to(tmp_path / "elsewhere" / "results.json")  # points nowhere (yet)
    with pytest.raises(publishing.PublishError, match="not a regular file"):
        publishing.check_target(link, ".json")
    assert not (tmp_path / "elsewhere").exists()


# ----------------------------------------------------------------------------- nested runs

def test_a_run_is_never_published_over_a_folder_that_holds_another_run(fake_data, tmp_path):
    from conftest import TINY_RUN, run_script
    import ex09
    out = tmp_path / "N"
    common = [*TINY_RUN, "--data-dir", str(fake_data)]
    assert ex09.main([*common, "--seed", "7", "--out-dir", str(out / "plain"),
                      "--mode", "plain"]) == 0
    nested = out / "plain" / "plain"
    before = {p.name: p.read_bytes() for p in nested.iterdir()}
    done = run_script(*common, "--out-dir", out, "--mode", "plain")
    assert done.returncode == 1 and "holds another run" in done.stderr, done.stderr
    assert str(nested) in done.stderr
    assert {p.name: p.read_bytes() for p in nested.iterdir()} == before


def test_publish_refuses_a_folder_that_came_to_hold_a_run_meanwhile(tmp_path):
    """The check at the publish itself: a run nested there while this one trained."""
    import publishing
    final = tmp_path / "plain"
    (final / "plain").mkdir(parents=True)
    (final / "plain" / "metrics.json").write_text("{}")
    stage = publishing.make_stage(final)
    (stage / "metrics.json").write_text("{}")
    with pytest.raises(publishing.PublishError, match="holds another run"):
        publishing.publish(stage, final)
    assert (final / "plain" / "metrics.json").exists() and not (final / "metrics.json").exists()


# ----------------------------------------------------------------------------- cause I

def test_i_a_folder_name_keeps_the_noise_level_it_stands_for():
    from analyses import runs, variants
    names = {s: variants.run_folder("sheet", "denoise", 1, s)
             for s in (0.2, 0.2000001, 1.0, 1e-7, 0.1 + 0.2)}
    assert len(set(names.values())) == len(names)
    assert names[0.2] == "variants/sheet-sigma0.2/seed1/denoise"  # the committed folders' names
    assert names[1.0] == "variants/sheet-sigma1/seed1/denoise"
    for sigma, name in names.items():
        assert runs.folder_identity(name)["noise_std"] == sigma
        command = runs.run_command(ROOT / "figures", name)
        assert float(command[command.index("--noise-std") + 1]) == sigma
