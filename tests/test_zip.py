"""The hand-in ZIP: only code and docs, and it runs from a temporary folder with relative paths."""

import subprocess
import sys
import zipfile

from conftest import ROOT


def test_zip_holds_only_the_code_and_runs_from_elsewhere(fake_data, tmp_path):
    target = tmp_path / "handin.zip"
    result = subprocess.run([sys.executable, str(ROOT / "make_zip.py"), str(target)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(target) as archive:
        names = archive.namelist()
        assert "ex09/ex09.py" in names and "ex09/noise.py" in names
        assert "ex09/requirements.txt" in names and "ex09/README.md" in names
        for name in names:
            assert not name.endswith((".pt", ".gz", ".png", ".npz", ".pyc", ".pdf")), name
            assert "__pycache__" not in name and "/data/" not in name
        archive.extractall(tmp_path / "unpacked")
    folder = tmp_path / "unpacked" / "ex09"
    for mode in ("plain", "denoise"):
        result = subprocess.run(
            [sys.executable, "ex09.py", "--mode", mode, "--epochs", "2", "--tsne-samples", "20",
             "--data-dir", str(fake_data), "--skip-md5"],
            cwd=folder, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        # Outputs land next to the unpacked script, not in the repository.
        assert (folder / "figures" / mode / "metrics.json").exists()
