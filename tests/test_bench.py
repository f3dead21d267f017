"""The benchmark script runs end to end with tiny sizes and measures what it says (not a timing
test)."""

import json
import subprocess
import sys

from conftest import ROOT


def test_benchmark_runs_with_tiny_sizes(fake_data, tmp_path):
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench.py"), "--data-dir", str(fake_data),
         "--skip-md5", "--repeats", "1", "--tutorial-repeats", "1", "--drift-epochs", "10",
         "--rss-epochs", "1", "--json", str(out)],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    results = json.loads(out.read_text())
    for key in ("floor_s", "floor_default_adam_s", "project_s", "tutorial_s"):
        assert results[key] > 0
    assert results["drift"]["epochs"] == 10 and results["drift"]["late_over_early"] > 0
    # The drift runs once with denormals flushed and once without, as measured in the child.
    assert results["drift"]["denormals_flushed"] is True
    assert results["drift_without_flush_denormal"]["denormals_flushed"] is False
    for key in ("drift", "drift_without_flush_denormal"):
        assert len(results[key]["continued_s"]) == len(results[key]["control_s"]) == 10
    assert len(results["project_runs_s"]) == len(results["floor_runs_s"]) == 1
    assert results["plain_run"]["peak_rss_mb"] > 10 and results["plain_run"]["epochs"] == 1
    for line in ("floor", "project/floor", "tutorial/project", "late/early", "peak"):
        assert line in result.stdout
