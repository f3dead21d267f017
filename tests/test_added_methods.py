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
