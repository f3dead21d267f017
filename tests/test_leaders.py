"""The two leading classical methods paired with each other (python -m analyses leaders): both
run again at their recorded clipping-aware choices, each checked against its record, and the
difference is the dictionary minus BM3D, image by image."""

import json
from types import SimpleNamespace

import numpy as np
import pytest

from analyses import leaders, paired, stabiliser
from noise import DEFAULT_NOISE_STD


def analyses_main(*args):
    from analyses.__main__ import main
    return main([str(a) for a in args])


@pytest.fixture
def records(fake_data, tmp_path, monkeypatch):
    """A comparison of 6 test images, and the two methods' records at small settings, their
    test PSNRs those the methods give on those images."""
    den = {"tune_images": 20, "subset_images": 6, "test_noise_seed": 1}
    monkeypatch.setattr(leaders, "read_comparison", lambda out_dir: den)
    blocks = {"profile": "np", "tune_images": 4, "pipelines": {"clipping-aware": {
        "method": "BM3D, clipping-aware, blocks tuned", "tuned_psnr_db": 20.0,
        "chosen": {"sigma_factor": 0.9, "block": 4, "step": 2}}}}
    prior = {"learn_patches": 300, "seed": 0, "pipelines": {"clipping-aware": {
        "chosen": {"patch": 3, "atoms": 8, "tolerance": 1.0}}}}
    args = SimpleNamespace(data_dir=fake_data, skip_md5=True, train_limit=None,
                           test_limit=None, mirror=None)
    fit, _, _, clean, noisy = paired.comparison_images(args, den, 1)
    psnr = {"bm3d": paired.per_image_psnr(leaders.bm3d_estimate(
                blocks, noisy, DEFAULT_NOISE_STD, 1), clean),
            "dictionary": paired.per_image_psnr(leaders.dictionary_estimate(
                prior, fit, noisy, DEFAULT_NOISE_STD, 1), clean)}
    for record, key, name in ((blocks, "bm3d", "bm3d_blocks"), (prior, "dictionary",
                                                                "patch_prior")):
        record["pipelines"]["clipping-aware"]["test"] = {"psnr_db": float(psnr[key].mean())}
        (tmp_path / name).mkdir()
        (tmp_path / name / f"{name}.json").write_text(json.dumps(record))
    return tmp_path, psnr


def test_the_dictionary_is_paired_with_bm3d_image_by_image(records, fake_data, capsys,
                                                           monkeypatch):
    out, psnr = records
    assert analyses_main("leaders", "--data-dir", fake_data, "--skip-md5", "--out-dir", out,
                         "--jobs", "1") == 0
    capsys.readouterr()
    record = json.loads((out / "leaders" / "leaders.json").read_text())
    assert record["method"].startswith("sparse coding") and record["other"].startswith("BM3D")
    d = psnr["dictionary"] - psnr["bm3d"]
    assert record["n"] == 6 and record["mean"] == pytest.approx(d.mean())
    assert record["share_ahead"] == pytest.approx(np.mean(d > 0))
    assert (out / "leaders" / "examples.png").stat().st_size > 0  # both on the example images
    # BM3D with its blocks through the stabiliser: its noise level tuned on the blocks' held-out
    # images (curves drawn), its test images paired with its aware pipeline and the dictionary
    vst = record["stabilised"]
    chosen = vst["chosen"]
    assert {k: chosen[k] for k in ("profile", "block", "step")} == {
        "profile": "np", "block": 4, "step": 2}
    assert chosen["sigma_factor"] == vst["parameters"]["sigma_factor"]["chosen"]
    assert (out / "leaders" / "tuning.png").stat().st_size > 0
    args = SimpleNamespace(data_dir=fake_data, skip_md5=True, train_limit=None,
                           test_limit=None, mirror=None)
    den = {"tune_images": 20, "subset_images": 6, "test_noise_seed": 1}
    _, tune_clean, tune_noisy, clean, noisy = paired.comparison_images(args, den, 4)
    tables = stabiliser.stabiliser(DEFAULT_NOISE_STD)
    again = stabiliser.denoise("BM3D", tune_noisy, DEFAULT_NOISE_STD, chosen, tables)
    assert vst["tuned_psnr_db"] == pytest.approx(paired.per_image_psnr(again, tune_clean).mean())
    stabilised = paired.per_image_psnr(stabiliser.denoise(
        "BM3D", noisy, DEFAULT_NOISE_STD, chosen, tables), clean)
    assert vst["test_psnr_db"] == pytest.approx(stabilised.mean())
    assert vst["minus_aware"]["mean"] == pytest.approx((stabilised - psnr["bm3d"]).mean())
    assert vst["dictionary_minus"]["mean"] == pytest.approx(
        (psnr["dictionary"] - stabilised).mean())
    # --redraw runs nothing and draws both figures again from the record, kept as it was
    text = (out / "leaders" / "leaders.json").read_text()
    assert list(record["examples"]["columns"]) == [
        "original", "noisy", "BM3D\naware", "BM3D\nstabilised", "dictionary\naware"]
    for png in ("examples.png", "tuning.png"):
        (out / "leaders" / png).unlink()
    monkeypatch.setattr(leaders, "comparison_images", lambda *a: pytest.fail("--redraw ran"))
    assert analyses_main("leaders", "--out-dir", out, "--redraw") == 0
    assert (out / "leaders" / "leaders.json").read_text() == text
    assert all((out / "leaders" / png).stat().st_size > 0 for png in ("examples.png",
                                                                       "tuning.png"))


def test_a_record_the_methods_do_not_repeat_writes_nothing(records, fake_data, capsys):
    out, _ = records
    path = out / "patch_prior" / "patch_prior.json"
    prior = json.loads(path.read_text())
    prior["pipelines"]["clipping-aware"]["test"]["psnr_db"] += 0.01
    path.write_text(json.dumps(prior))
    assert analyses_main("leaders", "--data-dir", fake_data, "--skip-md5", "--out-dir", out,
                         "--jobs", "1") == 1
    assert "sparse coding, learned dictionary, clipping-aware: " in capsys.readouterr().err
    assert not (out / "leaders").exists()
