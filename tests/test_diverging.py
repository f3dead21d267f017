"""Divergence and overflow in the analyses and tools (issue 28, causes E and F), handled as
ex09.py handles a diverged run: one line naming the problem, a non-zero exit, nothing
published, earlier results intact."""

import json
import subprocess
import sys

import pytest

from conftest import ROOT


def analyses_main(*args):
    from analyses.__main__ import main
    return main([str(a) for a in args])


def one_line(err):
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err


def test_e_revival_with_a_diverging_sgd_publishes_nothing(fake_data, tmp_path, capsys):
    """NaN weights would count as live units ("first live decoder unit at step 5")."""
    earlier = tmp_path / "revival"
    earlier.mkdir()
    (earlier / "revival.json").write_text("{}")
    assert analyses_main("revival", "--data-dir", fake_data, "--skip-md5", "--out-dir",
                         tmp_path, "--epochs", "1", "--log-every", "1", "--scan-seeds", "0",
                         "--sgd-lr", "1e30") == 1
    err = capsys.readouterr().err
    one_line(err)
    assert "sgd at learning rate 1e+30 diverged at step" in err and "nothing was published" in err
    assert [p.name for p in earlier.iterdir()] == ["revival.json"]


@pytest.mark.parametrize("grid", ["1e300", "1e30", "inf"])
def test_f_q1_refuses_a_learning_rate_that_overflows(grid, tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        analyses_main("q1", "--out-dir", tmp_path, "--lr-grid", grid)
    assert stop.value.code == 2 and "--lr-grid: must be finite" in capsys.readouterr().err
    assert not (tmp_path / "q1").exists()


def test_e_q1_where_every_learning_rate_diverges_publishes_nothing(fake_data, tmp_path, capsys):
    assert analyses_main("q1", "--data-dir", fake_data, "--skip-md5", "--out-dir", tmp_path,
                         "--subset", "50", "--seconds", "0.05", "--floor-seconds", "0.05",
                         "--seeds", "1", "--noise-repeats", "2", "--lr-grid", "1e5") == 1
    err = capsys.readouterr().err
    one_line(err)
    assert "every learning rate tried diverged" in err
    assert not (tmp_path / "q1").exists()


def test_f_a_one_unit_code_is_refused_before_training(capsys, tmp_path):
    """Its help allowed it; it failed in the t-SNE after the training."""
    with pytest.raises(SystemExit) as stop:
        analyses_main("variant", "width1", "--out-dir", tmp_path)
    assert stop.value.code == 2 and "W from 2 to" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_f_reproduce_refuses_a_jobs_value_that_overflows():
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "reproduce.py"), "--dry-run",
                           "--jobs", "9" * 401], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--jobs: from 1 to" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr) < 2000


def test_f_a_step_time_that_overflows_is_an_unusable_record_not_a_traceback(tmp_path,
                                                                           monkeypatch):
    sys.path.insert(0, str(ROOT / "tools"))
    import reproduce
    times = {"step_seconds": {"plain": int("9" * 401)}, "jobs": 2}
    (tmp_path / "reproduce_times.json").write_text(json.dumps(times))
    monkeypatch.setattr(reproduce, "FIGURES", tmp_path)
    said = []
    assert reproduce.recorded_seconds(2, said.append) == {}
    assert "unusable" in said[0]
    times = {"step_seconds": {"plain": 10}, "jobs": int("9" * 401)}
    (tmp_path / "reproduce_times.json").write_text(json.dumps(times))
    assert reproduce.recorded_seconds(2, said.append) == {} and "jobs 9999" in said[1]
