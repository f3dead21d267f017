"""The two classical methods run beside the denoiser comparison: BM3D with its blocks tuned
(python -m analyses bm3d-blocks) and sparse coding over a learned dictionary (python -m
analyses patch-prior)."""

import json

import numpy as np
import pytest

from analyses import filters, patch_prior


def analyses_main(*args):
    from analyses.__main__ import main
    return main([str(a) for a in args])


def test_bm3d_block_and_step_reach_both_stages_of_the_library(monkeypatch):
    import bm3d
    seen = []
    monkeypatch.setattr(bm3d, "bm3d", lambda image, sigma, profile: seen.append(profile) or image)
    image = np.zeros((28, 28))
    filters._bm3d(image, 0.5, 1.0, "np", block=4, step=1)
    filters._bm3d(image, 0.5, 1.0, "np")
    tuned, library = seen
    assert (tuned.bs_ht, tuned.bs_wiener, tuned.step_ht, tuned.step_wiener) == (4, 4, 1, 1)
    assert tuned.transform_2d_ht_name == "dct"  # the biorthogonal one needs a power of two
    assert (library.bs_ht, library.step_ht, library.transform_2d_ht_name) == (8, 3, "bior1.5")


def test_sparse_coding_with_a_complete_dictionary_and_no_tolerance_returns_its_input():
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, size=(2, 28, 28))
    identity = np.eye(9)  # every 3x3 patch is a sum of these atoms
    out = patch_prior.denoise((images, identity, 3, 1e-6, 0.5))
    assert np.allclose(out, images, atol=1e-6)


def test_sparse_coding_with_no_atom_allowed_averages_the_patch_means():
    # A tolerance above every patch's residual codes each patch with no atom: the patch becomes
    # its mean, and each pixel the average of the means of the patches that cover it.
    rng = np.random.default_rng(1)
    image = rng.uniform(-1, 1, size=(28, 28))
    out = patch_prior.denoise((image[None], np.eye(9), 3, 100.0, 0.5))[0]
    means = np.array([[image[i:i + 3, j:j + 3].mean() for j in range(26)] for i in range(26)])
    expected = np.zeros((28, 28))
    count = np.zeros((28, 28))
    for i in range(26):
        for j in range(26):
            expected[i:i + 3, j:j + 3] += means[i, j]
            count[i:i + 3, j:j + 3] += 1
    assert np.allclose(out, expected / count)


def test_the_dictionary_is_learned_from_mean_free_patches_of_the_images_given():
    rng = np.random.default_rng(2)
    images = rng.uniform(-1, 1, size=(20, 28, 28))
    atoms = patch_prior.learn_dictionary(images, 5, 8, 500, seed=0)
    assert atoms.shape == (8, 25)
    assert np.allclose(np.linalg.norm(atoms, axis=1), 1.0, atol=1e-6)
    assert np.allclose(atoms.sum(axis=1), 0.0, atol=1e-6)  # spanned by mean-free patches


@pytest.mark.parametrize("command", ["bm3d-blocks", "patch-prior"])
def test_more_tuning_images_than_held_out_is_a_clear_error(command, tmp_path, capsys):
    (tmp_path / "denoisers").mkdir()
    (tmp_path / "denoisers" / "denoisers.json").write_text(json.dumps({"tune_images": 10}))
    assert analyses_main(command, "--out-dir", tmp_path, "--tune-images", 11) == 1
    assert "held out 10 training images" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["denoisers"]


def curve(grid, chosen):
    """A tuning curve as analyses/tuning.py records it, peaked at `chosen`."""
    return {"grid": grid, "chosen": chosen, "at_grid_edge": False,
            "psnr_db": [20 - abs(np.log(v / chosen)) for v in grid]}


@pytest.mark.parametrize("command, name", [("bm3d-blocks", "bm3d_blocks"),
                                           ("patch-prior", "patch_prior")])
def test_redraw_draws_the_recorded_curves_and_tunes_nothing(command, name, tmp_path, monkeypatch,
                                                            capsys):
    from analyses import bm3d_blocks, denoiser_figures
    monkeypatch.setattr(bm3d_blocks, "tune", lambda *a, **k: pytest.fail("--redraw tuned"))
    monkeypatch.setattr(patch_prior, "tune", lambda *a, **k: pytest.fail("--redraw tuned"))
    drawn = []
    monkeypatch.setattr(denoiser_figures, "plot_tuning",
                        lambda tuning, path: drawn.append(tuning) or path.write_text("png"))
    folder = tmp_path / name
    folder.mkdir()
    pipelines = {p: {"tuned_psnr_db": 20.0, "parameters": {"tolerance": curve([0.5, 1.0], c)}}
                 for p, c in (("blind", 0.5), ("clipping-aware", 1.0))}
    record = json.dumps({"sigma": 0.5, "pipelines": pipelines})
    (folder / f"{name}.json").write_text(record)
    assert analyses_main(command, "--out-dir", tmp_path, "--redraw") == 0
    assert (folder / f"{name}.json").read_text() == record  # the record is kept as it was
    assert (folder / "tuning.png").read_text() == "png"
    tuning, = drawn
    assert {p: t["parameters"] for p, t in tuning.items()} == {
        p: r["parameters"] for p, r in pipelines.items()}
    assert {t["pipeline"] for t in tuning.values()} == {"blind", "clipping-aware"}
    # a record from before the curves were kept: a clear error, the folder untouched
    del pipelines["blind"]["parameters"]
    (folder / f"{name}.json").write_text(json.dumps({"sigma": 0.5, "pipelines": pipelines}))
    assert analyses_main(command, "--out-dir", tmp_path, "--redraw") == 1
    assert "run the analysis again" in capsys.readouterr().err
    assert (folder / "tuning.png").read_text() == "png"


def test_one_method_s_tuning_figure_names_it_once_and_labels_two_ticks_a_short_log_axis(
        tmp_path, monkeypatch):
    import ex09
    from analyses import denoiser_figures
    figures = []
    monkeypatch.setattr(ex09, "save", lambda fig, path, layout=True: figures.append(fig))
    factors = [0.3, 0.5, 0.7, 0.9, 1.2]  # under a decade: a log axis would label only 1
    denoiser_figures.plot_tuning(
        {p: {"filter": "BM3D, blocks tuned", "sigma": 0.5, "pipeline": p, "tuned_psnr_db": 20.0,
             "parameters": {"sigma_factor": curve(factors, 0.9), "block": curve([3, 4, 5], 4)}}
         for p in ("blind", "clipping-aware")}, tmp_path / "tuning.png")
    fig, = figures
    fig.canvas.draw()
    factor_axis, block_axis = [ax for ax in fig.axes if ax.axison]
    assert [t.get_text() for t in factor_axis.get_xticklabels()] == ["0.5", "1"]
    assert [ax.get_title() for ax in fig.axes] == ["", ""]  # long names overlapped, per panel
    assert fig.legends[0].get_title().get_text().startswith("BM3D, blocks tuned")
