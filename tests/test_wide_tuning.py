"""The held-out images' width tuned longer (python -m analyses wide-tuning): it trains exactly
as dae-tuning does (same seed, images, noise), the choice is the best held-out score, and the
test PSNR is only read at the chosen learning rate and epoch."""

import json

import pytest

from analyses import dae_tuning, wide_tuning


@pytest.fixture
def comparison(monkeypatch):
    """dae-tuning's view of a denoiser comparison of 40 test images (it draws nothing)."""
    den = {"subset_images": 40, "test_noise_seed": 1, "summary": [], "sigmas": [0.5],
           "widths": [8], "sweep_seeds": [1]}
    monkeypatch.setattr(dae_tuning, "read_comparison", lambda out_dir: den)
    monkeypatch.setattr(dae_tuning, "plot_standing", lambda summary, args, path: None)
    return den


def analyses_main(*args):
    from analyses.__main__ import main
    return main([str(a) for a in args])


def test_the_wide_network_retraces_dae_tuning_and_is_chosen_on_held_out_images(
        fake_data, tmp_path, monkeypatch, capsys, comparison):
    common = ["--data-dir", fake_data, "--skip-md5", "--out-dir", tmp_path, "--jobs", "1"]
    assert analyses_main("dae-tuning", *common, "--epochs", "4", "--eval-every", "2",
                         "--lrs", "1e-3", "3e-2", "--widths", "8", "16", "--scored-seeds", "2",
                         "--tune-images", "50", "--subset-images", "40") == 0
    assert analyses_main("wide-tuning", *common, "--width", "16", "--lrs", "3e-2", "1e-3",
                         "--epochs", "4") == 0
    capsys.readouterr()
    tun = json.loads((tmp_path / "dae_tuning" / "dae_tuning.json").read_text())
    record = json.loads((tmp_path / "wide_tuning" / "wide_tuning.json").read_text())
    assert record["lrs"] == [1e-3, 3e-2] and record["seed"] == tun["seed"]
    # Width 16 is dae-tuning's widest here: the same network, data and noise give its curves.
    for c in record["curves"]:
        old = next(o for o in tun["curves"] if o["width"] == 16 and o["lr"] == c["lr"])
        assert c["held_out_psnr_db"] == pytest.approx(old["held_out_psnr_db"], abs=1e-4)
        assert sorted(map(int, c["test_psnr_db"])) == [2, 4]
    best = max((p, c["lr"], int(e)) for c in record["curves"]
               for e, p in c["held_out_psnr_db"].items())
    chosen = record["chosen"]
    assert (chosen["held_out_psnr_db"], chosen["lr"], chosen["epoch"]) == best
    curve = next(c for c in record["curves"] if c["lr"] == chosen["lr"])
    assert chosen["test_psnr_db"] == curve["test_psnr_db"][str(chosen["epoch"])]
    images = record["subset_image_psnr_db_at_chosen"]
    assert len(images) == 40 and sum(images) / 40 == pytest.approx(chosen["test_psnr_db"])
    # beside it: dae-tuning's widest network at its tuned rate, its curve as recorded there
    ref = record["reference"]
    assert (ref["width"], ref["lr"]) == (16, tun["tuned"]["16"]["lr"])
    assert ref["held_out_psnr_db"] == next(o["held_out_psnr_db"] for o in tun["curves"]
                                           if o["width"] == 16 and o["lr"] == ref["lr"])
    png = tmp_path / "wide_tuning" / "wide_tuning.png"
    assert png.read_bytes()[:4] == b"\x89PNG"
    # --redraw trains nothing and draws the figure again from the record
    png.unlink()
    monkeypatch.setattr(dae_tuning, "run_all", lambda *a: pytest.fail("--redraw trained"))
    assert analyses_main("wide-tuning", *common, "--redraw") == 0
    assert png.exists() and json.loads(png.with_suffix(".json").read_text()) == record


def test_the_choice_is_the_best_held_out_score_over_rates_and_epochs():
    assert wide_tuning.choose({1e-3: {10: 19.0, 20: 19.4}, 3e-4: {10: 19.5, 20: 19.3}}) == (
        3e-4, 10, 19.5)


def test_it_needs_the_tuning_record_and_says_how_to_make_it(fake_data, tmp_path, capsys):
    assert analyses_main("wide-tuning", "--data-dir", fake_data, "--skip-md5", "--out-dir",
                         tmp_path, "--epochs", "2") == 1
    assert "python -m analyses dae-tuning" in capsys.readouterr().err
    assert not (tmp_path / "wide_tuning").exists()


def test_update_trains_only_the_new_rates_and_chooses_over_all_of_them(
        fake_data, tmp_path, monkeypatch, capsys, comparison):
    common = ["--data-dir", fake_data, "--skip-md5", "--jobs", "1"]
    tuning = ["dae-tuning", *common, "--epochs", "4", "--eval-every", "2", "--lrs", "1e-3",
              "--widths", "8", "--scored-seeds", "2", "--tune-images", "50",
              "--subset-images", "40"]
    both, parts = tmp_path / "both", tmp_path / "parts"
    for out in (both, parts):
        assert analyses_main(*tuning, "--out-dir", out) == 0
    wide = ["wide-tuning", *common, "--width", "16", "--epochs", "4"]
    assert analyses_main(*wide, "--out-dir", both, "--lrs", "1e-3", "3e-2") == 0
    assert analyses_main(*wide, "--out-dir", parts, "--update", "--lrs", "1e-3") == 1  # none yet
    assert analyses_main(*wide, "--out-dir", parts, "--lrs", "3e-2") == 0
    assert analyses_main("wide-tuning", *common, "--width", "16", "--epochs", "6",
                         "--out-dir", parts, "--update", "--lrs", "1e-3") == 1  # other epochs
    trained = []
    real = dae_tuning.run_all
    monkeypatch.setattr(dae_tuning, "run_all",
                        lambda tasks, jobs: trained.extend(t["lr"] for t in tasks)
                        or real(tasks, jobs))
    assert analyses_main(*wide, "--out-dir", parts, "--update", "--lrs", "1e-3") == 0
    capsys.readouterr()
    assert trained == [1e-3]
    joint, merged = (json.loads((out / "wide_tuning" / "wide_tuning.json").read_text())
                     for out in (both, parts))
    assert merged["lrs"] == joint["lrs"] == [1e-3, 3e-2]
    # the same networks (seed, images, noise), one run or two: the same record
    for key in ("curves", "chosen", "subset_image_psnr_db_at_chosen"):
        assert merged[key] == joint[key]
    assert [r["lrs"] for r in merged["runs"]] == [[3e-2], [1e-3]]
    assert merged["wall_seconds"] == pytest.approx(sum(r["wall_seconds"] for r in merged["runs"]),
                                                   abs=0.2)
