"""tools/reproduce.py: the scheduler of the full regeneration, on tiny stand-in steps."""

import json
import shutil
import sys

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import reproduce  # noqa: E402

# A stand-in step: notes its start, its end and its OMP_NUM_THREADS in a shared log, then exits.
STEP = ("import os, sys, time\n"
        "log, label, seconds, code = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])\n"
        "def note(what):\n"
        "    with open(log, 'a') as f:\n"
        "        f.write(f'{label} {what} {time.time()} {os.environ.get(\"OMP_NUM_THREADS\")}\\n')\n"
        "note('start'); time.sleep(seconds); note('end'); sys.exit(code)\n")


def fake(log, label, seconds=0.3, after=(), alone=False, code=0):
    return (label, [sys.executable, "-c", STEP, str(log), label, str(seconds), str(code)],
            ROOT, tuple(after), alone)


def intervals(log):
    spans, threads = {}, {}
    for line in log.read_text().splitlines():
        label, what, when, omp = line.split()
        spans.setdefault(label, {})[what] = float(when)
        threads[label] = omp
    return {k: (v["start"], v["end"]) for k, v in spans.items()}, threads


def overlap(a, b):
    return a[0] < b[1] and b[0] < a[1]


def test_steps_wait_for_what_they_read_and_alone_steps_run_alone(tmp_path, monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    log = tmp_path / "log"
    steps = [fake(log, "a", 0.6), fake(log, "timed", alone=True), fake(log, "b", 0.3),
             fake(log, "c", 0.3, after=["b"]), fake(log, "d", 0.3),
             fake(log, "last", after=["a", "b", "c", "d", "timed"], alone=True)]
    done, failed, left = reproduce.run_steps(steps, 2, tmp_path)
    assert set(done) == {s[0] for s in steps} and failed == [] and left == []
    spans, threads = intervals(log)
    assert spans["c"][0] >= spans["b"][1]  # c reads what b makes
    for label in ("timed", "last"):  # nothing beside a step that times itself
        assert not any(overlap(spans[label], spans[o]) for o in spans if o != label)
    assert spans["timed"][0] >= spans["a"][1]  # waits for what runs, and the rest waits for it
    assert overlap(spans["b"], spans["d"])  # two at a time, the others
    for label in spans:  # never three at once
        assert sum(overlap(spans[label], spans[o]) for o in spans if o != label) <= 2
    assert threads == {"timed": "None", "last": "None", "a": "1", "b": "1", "c": "1", "d": "1"}


def test_a_failed_step_stops_what_follows_but_lets_the_running_finish(tmp_path):
    log = tmp_path / "log"
    steps = [fake(log, "slow", 0.8), fake(log, "broken", 0.1, code=3),
             fake(log, "needs-broken", after=["broken"]), fake(log, "later")]
    done, failed, left = reproduce.run_steps(steps, 2, tmp_path)
    assert failed == ["broken"] and list(done) == ["slow"]
    assert left == ["needs-broken", "later"]
    assert set(intervals(log)[0]) == {"slow", "broken"}


@pytest.mark.parametrize("latexmk", [None, "/usr/bin/latexmk"], ids=["no TeX", "TeX"])
def test_dry_run_lists_every_step_once_and_runs_nothing(capsys, monkeypatch, latexmk):
    # Both branches, whatever this machine has: the PDF step only where latexmk is found.
    which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name, *args, **kwargs: latexmk
                        if name == "latexmk" else which(name, *args, **kwargs))
    monkeypatch.setattr(reproduce, "run_steps", lambda *a: pytest.fail("a dry run ran a step"))
    assert reproduce.main(["--dry-run"]) == 0
    labels = [line.split()[0] for line in capsys.readouterr().out.splitlines()
              if not line.startswith(" ")]
    assert len(labels) == len(set(labels))
    assert {"plain", "denoise", "seed4/denoise", "variants/width64/seed1/denoise", "q1",
            "benchmark", "seeds", "denoisers", "compare", "revival", "numbers"} <= set(labels)
    assert ("report" in labels) == (latexmk is not None)
    # Every run an analysis reads is trained before it, by the step that makes it.
    order = {label: i for i, label in enumerate(labels)}
    for label, _, _, after, _ in reproduce.steps(skip_benchmark=False):
        if label in order:
            assert all(order[a] < order[label] for a in after), label


def most_at_once(spans):
    events = sorted([(t0, 1) for t0, _ in spans.values()] + [(t1, -1) for _, t1 in spans.values()],
                    key=lambda e: (e[0], e[1]))
    now = peak = 0
    for _, change in events:
        now += change
        peak = max(peak, now)
    return peak


@pytest.mark.parametrize("jobs", [1, 3, 4])
def test_the_scheduler_runs_as_many_steps_at_once_as_asked_with_a_share_of_the_cores(
        tmp_path, monkeypatch, jobs):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(reproduce, "CORES", 8)
    log = tmp_path / "log"
    steps = [fake(log, f"s{i}", 0.4) for i in range(6)] + [
        fake(log, "timed", 0.2, alone=True), fake(log, "end", 0.2, after=["s0", "s5"])]
    done, failed, left = reproduce.run_steps(steps, jobs, tmp_path)
    assert set(done) == {s[0] for s in steps} and not failed and not left
    spans, threads = intervals(log)
    assert most_at_once(spans) == jobs  # as many as asked, never more
    assert not any(overlap(spans["timed"], spans[o]) for o in spans if o != "timed")
    assert spans["end"][0] >= max(spans["s0"][1], spans["s5"][1])
    share = "None" if jobs == 1 else str(8 // jobs)
    assert {threads[s] for s in spans if s != "timed"} == {share}


def test_schedule_estimates_on_a_known_graph():
    # a (3 s) -> b (2 s); c (4 s) alone; d (1 s): critical path 5 s (a, b); on 2 cores the
    # lower bound is max(5, 4 + 6 / 2) = 7 s; the scheduler's order (c alone, then a beside d,
    # then b) takes 9 s, one at a time 10 s.
    steps = [("c", [], ROOT, (), True), ("a", [], ROOT, (), False),
             ("b", [], ROOT, ("a",), False), ("d", [], ROOT, (), False)]
    seconds = {"a": 3.0, "b": 2.0, "c": 4.0, "d": 1.0}
    assert reproduce.critical_path(steps, seconds) == 5.0
    assert reproduce.floor_on(2, steps, seconds) == 7.0
    assert reproduce.simulate(steps, seconds, 2) == 9.0  # c alone (4), then a|d, then b
    assert reproduce.simulate(steps, seconds, 1) == 10.0
    # From a state part-way through: c done and a running for 1 s: a's last 2 s beside d (1 s),
    # then b (2 s). Steps whose inputs are done are ready (b after a, c and d: 2 s).
    assert reproduce.simulate(steps, seconds, 2, done={"c"}, running={"a": 1.0}) == 4.0
    assert reproduce.simulate(steps, seconds, 2, done={"a", "c", "d"}) == 2.0
    # a step running past its recorded time counts as ending now: d and b beside each other
    assert reproduce.simulate(steps, seconds, 2, done={"c"}, running={"a": 9.0}) == 2.0


@pytest.mark.parametrize("jobs", [1, 2, 8])
def test_the_denoiser_comparison_gets_every_job_and_its_time_scales_with_them(
        tmp_path, monkeypatch, jobs):
    found = {s[0]: s for s in reproduce.steps(skip_benchmark=True, jobs=jobs)}
    _, command, _, after, alone = found["denoisers"]
    assert command[-2:] == ["--jobs", str(jobs)] and alone  # nothing beside its processes
    assert not found["seeds"][4] and not found["plain"][4]  # the others share the cores
    # Recorded with 2 processes: 800 s; at `jobs` processes 1600 / jobs; other steps unscaled.
    monkeypatch.setattr(reproduce, "FIGURES", tmp_path)
    (tmp_path / "reproduce_times.json").write_text(
        '{"jobs": 2, "step_seconds": {"denoisers": 800, "plain": 150, "q1": 240}}')
    assert reproduce.recorded_seconds(jobs) == {"denoisers": 1600 / jobs, "plain": 150.0,
                                                "q1": 240.0}


def test_progress_counts_every_step_left_and_a_stopped_run_keeps_the_earlier_times(
        tmp_path, monkeypatch, capsys):
    # Recorded: a 600 s, b (after a) 1200 s, c 300 s; the stand-ins take a fraction of a second.
    log = tmp_path / "log"
    monkeypatch.setattr(reproduce, "FIGURES", tmp_path)
    monkeypatch.setattr(reproduce, "steps", lambda skip, jobs: [
        fake(log, "a", 0.2), fake(log, "b", 0.2, after=["a"])])
    times = tmp_path / "reproduce_times.json"
    times.write_text('{"jobs": 1, "step_seconds": {"a": 600, "b": 1200, "c": 300}}')
    assert reproduce.main(["--jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert "1 of 2 steps done, about 20 minutes left" in out  # b, which waits for a, counted
    assert "2 of 2 steps done, about 0 minutes left" in out
    record = json.loads(times.read_text())
    assert record["complete"] and set(record["finished_at_seconds"]) == {"a", "b"}
    assert record["cpu"] == reproduce.cpu_model() and record["cpu"]  # whose times these are
    assert record["step_seconds"]["b"] < 10 and record["step_seconds"]["c"] == 300
    # b fails: the run is incomplete, and b keeps the time it had (not a gap counted at 150 s).
    times.write_text('{"jobs": 1, "step_seconds": {"a": 600, "b": 1200}}')
    monkeypatch.setattr(reproduce, "steps", lambda skip, jobs: [
        fake(log, "a", 0.1), fake(log, "b", 0.1, after=["a"], code=3)])
    with pytest.raises(SystemExit, match="b failed"):
        reproduce.main(["--jobs", "1"])
    record = json.loads(times.read_text())
    assert not record["complete"] and record["step_seconds"]["b"] == 1200
    assert list(record["finished_at_seconds"]) == ["a"]


@pytest.mark.parametrize("text", [
    "", "{", "[]", "null", '{"jobs": 2}', '{"step_seconds": []}',
    '{"step_seconds": {"plain": "abc"}}', '{"step_seconds": {"plain": -5}}',
    '{"step_seconds": {"plain": NaN}}', '{"step_seconds": {"plain": Infinity}}',
    '{"step_seconds": {"plain": true}}', '{"jobs": 0, "step_seconds": {"plain": 5}}',
    '{"jobs": 1e400, "step_seconds": {"plain": 5}}', '{"jobs": 1.5, "step_seconds": {}}'])
def test_an_unusable_times_file_is_named_and_every_step_counted_at_the_default(
        tmp_path, monkeypatch, text):
    monkeypatch.setattr(reproduce, "FIGURES", tmp_path)
    (tmp_path / "reproduce_times.json").write_text(text)
    said = []
    assert reproduce.recorded_seconds(2, said.append) == {}
    assert said and "unusable" in said[0] and "150 s" in said[0]


def test_a_missing_times_file_is_said_and_a_folder_in_its_place_refused_before_any_step(
        tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(reproduce, "FIGURES", tmp_path)
    said = []
    assert reproduce.recorded_seconds(2, said.append) == {} and "no reproduce_times.json" in said[0]
    (tmp_path / "reproduce_times.json").mkdir()
    monkeypatch.setattr(reproduce, "run_steps", lambda *a: pytest.fail("a step ran"))
    with pytest.raises(SystemExit, match="is a folder where the step times go"):
        reproduce.main([])


def test_the_critical_path_takes_the_longest_of_parallel_predecessors():
    # a (3 s) and b (2 s) side by side, then c (1 s) after both: 4 s, not 3 + 2 + 1 = 6 s.
    steps = [("a", [], ROOT, (), False), ("b", [], ROOT, (), False),
             ("c", [], ROOT, ("a", "b"), False)]
    assert reproduce.critical_path(steps, {"a": 3.0, "b": 2.0, "c": 1.0}) == 4.0


@pytest.mark.parametrize("jobs, threads", [(1, 2), (2, 1), (3, 1), (64, 1)])
def test_each_step_gets_at_least_one_thread_whatever_the_jobs(jobs, threads, monkeypatch):
    # on 2 cores: an even share, never OMP_NUM_THREADS=0 when the jobs outnumber the cores
    monkeypatch.setattr(reproduce, "CORES", 2)
    assert reproduce.threads_for(jobs) == threads
