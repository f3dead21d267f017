"""Edge values of the analyses' own options: each refused before any work, in one line."""

from conftest import run_analysis, run_script


def test_an_option_of_the_wrong_type_names_the_type_not_the_parser_function():
    result = run_script("--epochs", "x")
    assert result.returncode == 2 and "invalid int value: 'x'" in result.stderr


def test_q1_refuses_a_subset_no_larger_than_the_code(tmp_path):
    for subset in ("1", "8"):
        result = run_analysis("q1", "--subset", subset, "--out-dir", tmp_path)
        assert result.returncode == 1 and "--subset must be more than the code size 8" in \
            result.stderr and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_revival_refuses_a_logging_interval_longer_than_the_run(fake_data, tmp_path):
    result = run_analysis("revival", "--data-dir", fake_data, "--skip-md5", "--out-dir",
                          tmp_path, "--epochs", "1", "--log-every", "50", "--scan-seeds", "0")
    assert result.returncode == 1 and "--log-every 50 is longer than the run's" in result.stderr
    assert not (tmp_path / "revival").exists()


def test_a_variant_too_wide_to_build_is_refused_before_the_data_loads(tmp_path):
    result = run_analysis("variant", "width999999999", "--data-dir", tmp_path / "nothing",
                          "--out-dir", tmp_path)
    assert result.returncode == 2 and "W from 2 to 4096" in result.stderr


def test_published_results_are_readable_by_others_as_a_plain_folder(fake_data, tmp_path):
    import os
    from conftest import TINY_RUN
    result = run_script(*TINY_RUN, "--data-dir", fake_data, "--out-dir", tmp_path)
    assert result.returncode == 0, result.stderr
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "plain").stat().st_mode & 0o777 == 0o777 & ~umask


def test_a_full_disk_while_writing_a_figure_names_the_file(tmp_path, monkeypatch):
    import errno

    import matplotlib.figure
    import pytest

    import ex09

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", full)
    fig, _ = ex09._matplotlib().subplots()
    with pytest.raises(OSError) as info:
        ex09.save(fig, tmp_path / "figure.png")
    assert info.value.filename == str(tmp_path / "figure.png")


def test_a_failed_zip_build_leaves_no_partial_file(tmp_path, monkeypatch):
    import sys
    import zipfile

    import pytest

    from conftest import ROOT
    sys.path.insert(0, str(ROOT / "tools"))
    import make_zip

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(zipfile.ZipFile, "write", fail)
    with pytest.raises(OSError):
        make_zip.build(tmp_path / "handin.zip")
    assert list(tmp_path.iterdir()) == []


def test_compare_refuses_a_plain_and_denoise_pair_made_with_other_settings(fake_data, tmp_path,
                                                                           capsys):
    import ex09
    from analyses.__main__ import main
    from conftest import TINY_RUN
    for mode, seed in (("plain", "1"), ("denoise", "2")):
        assert ex09.main([*TINY_RUN, "--mode", mode, "--seed", seed, "--data-dir",
                          str(fake_data), "--out-dir", str(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["compare", "--data-dir", str(fake_data), "--skip-md5", "--out-dir",
                 str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "seed 1 (plain) vs 2 (denoise)" in err and not (tmp_path / "compare").exists()
    # The advice remakes the plain run as the denoise run was made: its seed and settings.
    assert f"python ex09.py --mode plain --out-dir {tmp_path} --seed=2 --epochs=3 " \
        f"--batch-size=32 --tsne-samples=30" in err


def test_a_run_is_checked_against_its_settings_in_the_read_that_loads_it(fake_data, tmp_path):
    import json

    import pytest

    import ex09
    from analyses import runs
    from conftest import TINY_RUN
    assert ex09.main([*TINY_RUN, "--mode", "denoise", "--seed", "3", "--data-dir",
                      str(fake_data), "--out-dir", str(tmp_path / "seed3")]) == 0
    from types import SimpleNamespace
    args = SimpleNamespace(out_dir=tmp_path, data_dir=fake_data, mirror="m", skip_md5=True,
                           train_limit=None, test_limit=None)
    metrics = json.loads((tmp_path / "seed3" / "denoise" / "metrics.json").read_text())
    options = {"epochs": 3, "tsne_samples": 30, "batch_size": 32, "eval_every": 2}
    runs.check_settings(args, "seed3/denoise", metrics, options)  # its own settings: fine
    metrics["config"]["seed"] = 4  # a run of another seed published in its place
    with pytest.raises(ex09.UsageError, match="seed 4 \\(not 3\\)"):
        runs.check_settings(args, "seed3/denoise", metrics, options)


# ----------------------------------------------------------------------------- outputs (class 4)

def test_the_benchmark_refuses_a_json_it_cannot_write_before_measuring(fake_data, tmp_path):
    import subprocess
    import sys
    from conftest import ROOT
    for target, why in ((tmp_path / "missing" / "bench.json", "does not exist"),
                        (tmp_path, "it is a folder")):
        result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench.py"),
                                 "--data-dir", str(fake_data), "--skip-md5", "--json",
                                 str(target)], capture_output=True, text=True, timeout=120)
        assert result.returncode == 1 and why in result.stderr, result.stderr
        assert "Traceback" not in result.stderr and "floor" not in result.stdout  # no work


def test_the_benchmark_with_a_bad_data_dir_is_one_line(tmp_path):
    import subprocess
    import sys
    from conftest import ROOT
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench.py"), "--data-dir",
                             str(tmp_path / "nowhere")], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ") and str(tmp_path / "nowhere") in result.stderr


def test_weights_that_hit_a_full_disk_name_the_file(fake_data, tmp_path, monkeypatch, capsys):
    import os
    import pytest
    import ex09
    import publishing
    if not os.path.exists("/dev/full"):
        pytest.skip("needs /dev/full (Linux) to fill a disk")
    real_stage = publishing.make_stage

    def stage_on_a_full_disk(final):  # its model.pt is a full disk; torch.save itself is real
        stage = real_stage(final)
        (stage / "model.pt").symlink_to("/dev/full")
        return stage

    monkeypatch.setattr(publishing, "make_stage", stage_on_a_full_disk)
    from conftest import TINY_RUN
    code = ex09.main(["--data-dir", str(fake_data), "--out-dir", str(tmp_path / "out"),
                      *TINY_RUN, "--epochs", "1", "--tsne-samples", "0"])
    err = capsys.readouterr().err
    assert code == 1 and "model.pt: No space left on device" in err, err
    assert "nothing was published" in err and not (tmp_path / "out" / "plain").exists()


def test_reproduce_refuses_a_file_where_its_logs_go_before_any_step(tmp_path, monkeypatch):
    import sys
    import pytest
    from conftest import ROOT
    sys.path.insert(0, str(ROOT / "tools"))
    import reproduce
    (tmp_path / "logs").write_text("my notes")
    monkeypatch.setattr(reproduce, "FIGURES", tmp_path)
    monkeypatch.setattr(reproduce, "run_steps", lambda *a, **k: pytest.fail("a step started"))
    with pytest.raises(SystemExit, match="logs is a file where a folder of results goes"):
        reproduce.main(["--skip-benchmark"])
    assert (tmp_path / "logs").read_text() == "my notes"


# ----------------------------------------------------------------------------- small things (7)

def test_a_failed_run_leaves_no_empty_out_dir_behind(tmp_path, capsys):
    import ex09
    out = tmp_path / "new" / "results"
    code = ex09.main(["--data-dir", str(tmp_path / "no-data"), "--mirror", str(tmp_path / "none"),
                      "--out-dir", str(out)])
    assert code == 1 and "error" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()  # neither results/ nor new/ stays


def test_revival_without_a_seed_scan_says_nothing_of_seeds(fake_data, tmp_path):
    result = run_analysis("revival", "--data-dir", fake_data, "--skip-md5", "--out-dir",
                          tmp_path, "--epochs", "1", "--log-every", "1", "--probe", "50",
                          "--scan-seeds", "0")
    assert result.returncode == 0, result.stderr
    assert "seeds 0-" not in result.stdout
