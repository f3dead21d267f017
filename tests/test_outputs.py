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


def test_g_a_seed_one_pair_of_other_settings_beside_the_seed_study_is_refused(project):
    edit_json(project / "figures" / "seed1" / "plain" / "metrics.json",
              lambda m: m["config"].update(batch_size=64))
    refused(project, "seed1/plain was made with other settings", "batch_size 64 (not 128)")


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
