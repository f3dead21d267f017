"""Signals (Ctrl+C, `kill`, a parent killed outright): a stop is never lost, never publishes,
and leaves nothing running or half-made behind. Real processes, real signals."""

import os
import signal
import subprocess
import sys
import time

import pytest

import ex09
import publishing
from analyses import runs
from conftest import ROOT, TINY_RUN, make_fake_dataset

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX signals and re-parenting")


def wait_for(condition, process, seconds=60):
    deadline = time.monotonic() + seconds
    while not condition():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def earlier_run(out):
    (out / "plain").mkdir(parents=True)
    (out / "plain" / "metrics.json").write_text('{"earlier": true}')


# A finalizer that waits for the signal while the outputs are written: the KeyboardInterrupt the
# handler raises inside it is swallowed by Python ("Exception ignored in ..."), as when Ctrl+C
# lands in a garbage-collection callback of matplotlib or torch.
SWALLOWING_RUN = """
import sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
import ex09
real_plot_losses = ex09.plot_losses
class Finalizer:
    def __del__(self):
        Path({marker!r}).write_text("writing")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            time.sleep(0.01)
def plot_losses(*args):
    real_plot_losses(*args)
    Finalizer()  # dropped at once: __del__ runs here, while the run writes its outputs
ex09.plot_losses = plot_losses
sys.exit(ex09.main(sys.argv[1:]))
"""


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_swallowed_while_outputs_are_written_still_stops_the_run(tmp_path, signum):
    data = make_fake_dataset(tmp_path / "data", n_train=200, n_test=100)
    out, marker = tmp_path / "out", tmp_path / "writing"
    earlier_run(out)
    run = subprocess.Popen(
        [sys.executable, "-c", SWALLOWING_RUN.format(root=str(ROOT), marker=str(marker)),
         "--data-dir", str(data), "--out-dir", str(out), *TINY_RUN, "--epochs", "1",
         "--tsne-samples", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(marker.exists, run)
        run.send_signal(signum)
        _, err = run.communicate(timeout=120)
    finally:
        run.kill()
    assert "Exception ignored" in err  # the interrupt was indeed swallowed ...
    assert run.returncode != 0 and "interrupted" in err  # ... and still stopped the run
    assert sorted(p.name for p in out.iterdir()) == ["plain"]  # no stage left
    assert (out / "plain" / "metrics.json").read_text() == '{"earlier": true}'


def test_a_signal_during_the_publish_lets_it_finish_whole_and_says_so(tmp_path, monkeypatch):
    stage, final = tmp_path / "stage", tmp_path / "final"
    stage.mkdir()
    (stage / "metrics.json").write_text("new")
    real_replace = os.replace

    def replace_then_signal(source, target):  # Ctrl+C between the two renames
        real_replace(source, target)
        if target != final:
            os.kill(os.getpid(), signal.SIGINT)

    earlier_run(tmp_path)
    (tmp_path / "plain").rename(final)
    monkeypatch.setattr(publishing, "_signals", {"received": [], "deferred": False})
    monkeypatch.setattr(publishing.os, "replace", replace_then_signal)
    previous = signal.signal(signal.SIGINT, publishing.on_signal)
    try:
        publishing.publish(stage, final)  # no KeyboardInterrupt between the renames
    finally:
        signal.signal(signal.SIGINT, previous)
    assert (final / "metrics.json").read_text() == "new" and publishing.interrupted()
    with pytest.raises(KeyboardInterrupt):  # and the next publish is refused
        publishing.publish(stage, final)


# A parent that starts a long training as the project's programs do, then waits for it.
PARENT = """
import subprocess, sys
sys.path.insert(0, {root!r})
import publishing
subprocess.Popen([sys.executable, *sys.argv[1:]], env=publishing.child_env()).wait()
"""


def test_a_training_ends_with_its_parent_even_when_the_parent_is_killed(tmp_path):
    data = make_fake_dataset(tmp_path / "data", n_train=200, n_test=100)
    out = tmp_path / "out"
    parent = subprocess.Popen([sys.executable, "-c", PARENT.format(root=str(ROOT)),
                               str(ROOT / "ex09.py"), "--data-dir", str(data), "--out-dir",
                               str(out), *TINY_RUN, "--epochs", "100000", "--eval-every",
                               "100000"])
    try:
        wait_for(lambda: list(out.glob(".plain.partial-*/recon_epoch000.png")), parent)
        child = int(next(out.glob(".plain.partial-*")).name.split("-")[1])  # the stage's pid
        parent.kill()  # SIGKILL: no chance to stop its child itself
        parent.wait()
        deadline = time.monotonic() + 30
        while publishing.alive(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not publishing.alive(child), "the training outlived its parent"
    finally:
        parent.kill()
        if publishing.alive(child):
            os.kill(child, signal.SIGKILL)
    time.sleep(0.5)  # its clean-up ran before it exited; nothing may be left
    assert not out.exists() or list(out.iterdir()) == []


def test_a_person_started_run_is_not_stopped_when_its_shell_goes(monkeypatch):
    # The check only runs for a child of the project's own programs: `nohup python ex09.py &`
    # from a shell that then exits must keep running.
    started = []
    monkeypatch.setattr(publishing.threading, "Thread", lambda **kw: started.append(kw) or
                        type("T", (), {"start": lambda self: None})())
    monkeypatch.delenv(publishing.PARENT_VARIABLE, raising=False)
    publishing.end_with_parent()
    monkeypatch.setenv(publishing.PARENT_VARIABLE, str(os.getppid() + 1))  # an inherited one
    publishing.end_with_parent()
    assert started == []
    monkeypatch.setenv(publishing.PARENT_VARIABLE, str(os.getppid()))
    publishing.end_with_parent()
    assert len(started) == 1


def test_the_programs_that_start_children_tie_them_to_themselves(tmp_path, monkeypatch):
    envs = []

    class Recorder:
        def __init__(self, command, env=None, **kwargs):
            envs.append(env)
            self.returncode = 0

        def poll(self):
            return 0

        terminate = wait = poll

    monkeypatch.setattr(runs.subprocess, "Popen", Recorder)
    monkeypatch.setattr(runs.fashion_mnist, "ensure_files", lambda *a: None)
    args = ex09.build_parser().parse_args(["--out-dir", str(tmp_path), "--data-dir",
                                           str(tmp_path)])
    runs.ensure_runs(args, ["plain"], 1, {})
    sys.path.insert(0, str(ROOT / "tools"))
    import reproduce
    monkeypatch.setattr(reproduce.subprocess, "Popen", Recorder)
    reproduce.run_steps([("a", ["true"], tmp_path, (), False), ("b", ["true"], tmp_path, (), True)],
                        2, tmp_path)
    assert len(envs) == 3
    assert all(env[publishing.PARENT_VARIABLE] == str(os.getpid()) for env in envs)


def test_a_stage_left_by_a_killed_run_is_removed_by_the_next_run_there(fake_data, tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".plain.partial-{dead.pid}-abcd1234"
    live = tmp_path / f".plain.partial-{os.getpid()}-abcd1234"  # a run still going: kept
    other = tmp_path / f".denoise.partial-{dead.pid}-abcd1234"  # another folder's: not ours
    for folder in (stale, live, other):
        folder.mkdir()
        (folder / "losses.csv").write_text("half")
    assert ex09.main(["--data-dir", str(fake_data), "--out-dir", str(tmp_path), *TINY_RUN,
                      "--epochs", "1", "--tsne-samples", "0"]) == 0
    assert not stale.exists() and live.exists() and other.exists()


def test_a_stop_swallowed_during_training_ends_the_run_at_the_next_epoch(fake_data, tmp_path,
                                                                         monkeypatch):
    """A Ctrl+C whose KeyboardInterrupt Python swallowed in a finalizer mid-training (only its
    record is left) stops the run at the next epoch, not after all of them."""
    monkeypatch.setattr(publishing, "_signals", {"received": [], "deferred": False})
    epochs, real_epoch = [], ex09.train_epoch

    def epoch_then_swallowed_stop(*args):
        epochs.append(1)
        if len(epochs) == 2:
            publishing._signals["received"].append(signal.SIGINT)  # the handler's record
        return real_epoch(*args)

    monkeypatch.setattr(ex09, "train_epoch", epoch_then_swallowed_stop)
    args = ex09.build_parser().parse_args(["--data-dir", str(fake_data), "--out-dir",
                                           str(tmp_path / "out"), *TINY_RUN, "--epochs", "50"])
    with pytest.raises(KeyboardInterrupt):
        ex09.run(args)
    assert len(epochs) == 2
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())
