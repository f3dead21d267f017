"""The DAE tuned like the filters (python -m analyses dae-tuning): it never trains on the
held-out images it is scored on, those carry the filters' tuning noise, the choice is the best
held-out score, and the report's numbers follow from its record."""

import json
import sys

import pytest
import torch

import ex09
import fashion_mnist as fm
from analyses import dae_tuning, denoisers, paired
from analyses.measures import spread
from noise import DEFAULT_NOISE_STD, add_white_noise

sys.path.insert(0, str(ex09.HERE / "report"))
import make_numbers  # noqa: E402


def analyses_main(*args):
    from analyses.__main__ import main
    return main([str(a) for a in args])


def test_the_dae_is_tuned_on_held_out_images_it_never_trains_on(fake_data, tmp_path,
                                                                  monkeypatch, capsys):
    x_train = fm.load_split(fake_data, "train", verify_md5=False)[0]
    tune = 50
    seen, drawn = [], []
    real_epoch = ex09.train_epoch
    den = {"subset_images": 40, "test_noise_seed": 1, "summary": [], "sigmas": [0.5],
           "widths": [8], "sweep_seeds": [1]}
    monkeypatch.setattr(dae_tuning, "read_comparison", lambda out_dir: den)
    monkeypatch.setattr(dae_tuning, "plot_standing",
                        lambda summary, args, path: drawn.append(summary))

    def recording_epoch(model, optimizer, loss_fn, x, *rest):
        seen.append(x.clone())
        return real_epoch(model, optimizer, loss_fn, x, *rest)
    monkeypatch.setattr(ex09, "train_epoch", recording_epoch)
    assert analyses_main("dae-tuning", "--data-dir", fake_data, "--skip-md5", "--out-dir",
                         tmp_path, "--jobs", "1", "--epochs", "4", "--eval-every", "2",
                         "--lrs", "1e-3", "3e-2", "--widths", "8", "16", "--scored-seeds", "2", "3",
                         "--tune-images", tune, "--subset-images", "40") == 0
    capsys.readouterr()
    # Every epoch of every network trained on the training images less the held-out ones.
    assert seen and all(torch.equal(x, x_train[:-tune]) for x in seen)
    record = json.loads((tmp_path / "dae_tuning" / "dae_tuning.json").read_text())
    assert record["train_images"] == len(x_train) - tune and record["runs"][0]["wall_seconds"] > 0
    for width in (8, 16):
        scored = [(c["held_out_psnr_db"][e], c["lr"], int(e)) for c in record["curves"]
                  if c["width"] == width for e in c["held_out_psnr_db"]]
        assert sorted(int(e) for c in record["curves"] if c["width"] == width
                      for e in c["held_out_psnr_db"]) == [2, 2, 4, 4]
        best = max(scored)
        tuned = record["tuned"][str(width)]
        assert (tuned["lr"], tuned["epochs"]) == (best[1], best[2])
        assert tuned["seeds"] == [2, 3]  # fresh seeds: not the tuning seed 1, picked by score
        psnrs = [tuned["per_seed"][str(s)]["subset"]["psnr_db"] for s in (2, 3)]
        assert tuned["subset_psnr_db"] == pytest.approx(spread(psnrs))
        for s in (2, 3):  # each image's PSNR, for the paired analysis, averages to the score
            images = tuned["per_seed"][str(s)]["subset_image_psnr_db"]
            assert len(images) == 40
            assert sum(images) / 40 == pytest.approx(psnrs[s - 2], abs=1e-6)
    assert (tmp_path / "dae_tuning" / "dae_tuning.png").exists()
    # The comparison's ranking is drawn again with each tuned network's test PSNR in it.
    assert [(s["method"], s["subset"]["psnr_db"]) for s in drawn[0]] == [
        (paired.tuned_label(w),
         record["tuned"][str(w)]["subset_psnr_db"]) for w in (8, 16)]


def test_the_held_out_images_carry_the_filters_tuning_noise():
    x = torch.rand(30, 784) * 2 - 1
    fit, held_out, noisy = dae_tuning.held_out_split(x, 10)
    assert torch.equal(fit, x[:20]) and torch.equal(held_out, x[20:])
    expected = add_white_noise(x[20:], DEFAULT_NOISE_STD,
                               torch.Generator().manual_seed(denoisers.TUNE_NOISE_SEED))
    assert torch.equal(noisy, expected)


def test_a_repeated_seed_or_an_empty_epoch_grid_is_refused(fake_data, tmp_path, capsys,
                                                          monkeypatch):
    monkeypatch.setattr(dae_tuning, "read_comparison", lambda out_dir: {
        "subset_images": 120, "test_noise_seed": 1})
    common = ["dae-tuning", "--data-dir", fake_data, "--skip-md5", "--out-dir", tmp_path,
              "--tune-images", "50"]
    assert analyses_main(*common, "--seed", "2", "--scored-seeds", "2", "3") == 1
    assert "repeats the tuning --seed" in capsys.readouterr().err
    assert analyses_main(*common, "--epochs", "5", "--eval-every", "10") == 1
    assert "no epoch would be scored" in capsys.readouterr().err
    assert not (tmp_path / "dae_tuning").exists()


def test_update_trains_only_its_widths_and_keeps_the_others(fake_data, tmp_path, monkeypatch,
                                                            capsys):
    den = {"subset_images": 40, "test_noise_seed": 1, "summary": [], "sigmas": [0.5],
           "widths": [8], "sweep_seeds": [1]}
    monkeypatch.setattr(dae_tuning, "read_comparison", lambda out_dir: den)
    monkeypatch.setattr(dae_tuning, "plot_standing", lambda summary, args, path: None)
    common = ["dae-tuning", "--data-dir", fake_data, "--skip-md5", "--out-dir", tmp_path,
              "--jobs", "1", "--eval-every", "2", "--lrs", "1e-3", "3e-2", "--scored-seeds", "2",
              "--tune-images", "50", "--subset-images", "40"]
    path = tmp_path / "dae_tuning" / "dae_tuning.json"
    assert analyses_main(*common, "--widths", "8", "16", "--epochs", "2") == 0
    first = json.loads(path.read_text())
    trained = []
    real_train = dae_tuning.train
    monkeypatch.setattr(dae_tuning, "train", lambda task: trained.append(task["width"])
                        or real_train(task))
    assert analyses_main(*common, "--widths", "16", "--epochs", "4", "--update") == 0
    capsys.readouterr()
    assert set(trained) == {16}
    record = json.loads(path.read_text())
    assert record["widths"] == [8, 16] and record["epochs"] == {"8": 2, "16": 4}
    assert [c for c in record["curves"] if c["width"] == 8] == [
        c for c in first["curves"] if c["width"] == 8]
    assert record["tuned"]["8"] == first["tuned"]["8"]
    assert sorted(int(e) for c in record["curves"] if c["width"] == 16
                  for e in c["held_out_psnr_db"]) == [2, 2, 4, 4]
    # the longer grid starts as the shorter one did: same seed, same data, same noise
    for c in (c for c in record["curves"] if c["width"] == 16):
        old = next(o for o in first["curves"] if o["width"] == 16 and o["lr"] == c["lr"])
        assert c["held_out_psnr_db"]["2"] == pytest.approx(old["held_out_psnr_db"]["2"])
    assert len(record["runs"]) == 2 and record["runs"][1]["widths"] == [16]
    # a record made with other settings is refused before any network is trained
    trained.clear()
    assert analyses_main(*common, "--lrs", "1e-3", "--widths", "16", "--update") == 1
    assert "made with other lrs" in capsys.readouterr().err and trained == []
    assert json.loads(path.read_text()) == record
    assert analyses_main(*common, "--widths", "8", "16", "--epochs", "2", "4", "6") == 1
    assert "one value or one per width" in capsys.readouterr().err
    # --redraw trains nothing and draws the curves again from the record, left as it was
    monkeypatch.setattr(dae_tuning, "train", lambda task: pytest.fail("trained"))
    (tmp_path / "dae_tuning" / "dae_tuning.png").unlink()
    assert analyses_main(*common, "--redraw") == 0
    assert (tmp_path / "dae_tuning" / "dae_tuning.png").exists()
    assert json.loads(path.read_text()) == record


def test_without_the_denoiser_comparison_nothing_is_trained(fake_data, tmp_path, capsys,
                                                            monkeypatch):
    monkeypatch.setattr(dae_tuning, "train", lambda task: pytest.fail("trained"))
    assert analyses_main("dae-tuning", "--data-dir", fake_data, "--skip-md5", "--out-dir",
                         tmp_path, "--tune-images", "50") == 1
    assert "python -m analyses denoisers" in capsys.readouterr().err


def tuning_record(lr_best):
    curve = {"10": 17.0, "50": 18.0, "100": 18.4}
    better = {"10": 17.5, "50": 18.6, "100": 18.9}
    per_seed = {str(s): {"subset": {"psnr_db": p, "ssim": q}}
                for s, p, q in ((1, 18.8, 0.6), (2, 19.0, 0.61), (3, 20.5, 0.62))}
    tuned = {"lr": lr_best, "epochs": 100, "seeds": [1, 2, 3], "per_seed": per_seed,
             "subset_psnr_db": spread([18.8, 19.0, 20.5]),
             "subset_ssim": spread([0.6, 0.61, 0.62]), "all_psnr_db": spread([18.7, 19.0, 20.4])}
    return {"lrs": [3e-4, 1e-3, 3e-3, 1e-2], "epochs": {"8": 100, "128": 100}, "eval_every": 10,
            "seed": 1, "train_images": 59000,
            "widths": [8, 128], "runs": [{"widths": [8, 128], "wall_seconds": 999.0},
                                         {"widths": [8], "wall_seconds": 1000.0},
                                         {"widths": [128], "wall_seconds": 530.0}],
            "curves": [{"width": w, "lr": lr, "held_out_psnr_db": better if lr == lr_best
                        else curve} for w in (8, 128) for lr in (3e-4, 1e-3, 3e-3, 1e-2)],
            "tuned": {"8": tuned, "128": tuned}}


def test_the_reports_tuning_numbers_follow_from_the_record():
    den = {"summary": [{"method": "non-local means, clipping-aware", "sigma": 0.5,
                        "kind": "filter", "subset": {"psnr_db": {"mean": 20.0}}},
                       {"method": "BM3D, clipping-aware", "sigma": 0.5, "kind": "filter",
                        "subset": {"psnr_db": {"mean": 19.9}}},
                       {"method": "DAE", "sigma": 0.5, "kind": "learned",
                        "subset": {"psnr_db": {"mean": 17.0}, "ssim": {"mean": 0.65}}},
                       {"method": "DAE, code size 128", "sigma": 0.5, "kind": "learned",
                        "subset": {"psnr_db": {"mean": 18.5}, "ssim": {"mean": 0.6}}}],
           "rows": [{"sigma": 0.5, "method": "DAE", "seed": s, "kind": "learned",
                     "subset": {"psnr_db": 17.0, "ssim": q}} for s, q in ((1, 0.64), (2, 0.66),
                                                                           (3, 0.65))]
           + [{"sigma": 0.5, "method": "DAE, code size 128", "seed": s, "kind": "learned",
               "subset": {"psnr_db": 18.5, "ssim": 0.6}} for s in (2, 3)]}
    m = make_numbers.tuning_numbers(tuning_record(3e-3), den)
    assert m["TunDaeLr"] == "0.003" and m["TunDaeEpochs"] == "100"
    assert m["BestLearnedSsimSeed"] == "0.660"  # the best single seed, not the best mean
    assert m["TunWallMinutes"] == "26"  # 1000 + 530 s: the runs whose results are kept
    assert m["TunDaeHeldOutGain"] == "0.90"  # 18.9 chosen - 18.0 at the sheet's lr, 50 epochs
    assert m["TunDaeMaxEpochs"] == "100"
    # the chosen curve over its last 100 epochs (10 .. 100 here): 17.5, 18.6, 18.9
    assert m["TunDaeTailGain"] == "1.40" and m["TunDaeTailRange"] == "1.40"
    assert m["TunDaeTailFrom"] == "0"
    assert m["TunDaeGapTop"] == "0.57"  # 20.0 - 19.43
    # on the test images, over the untuned network of the same width at the same seeds
    assert m["TunDaeTestGain"] == "2.43" and m["TunDaeTestGainSeeds"] == "1, 2, 3"
    assert m["TunWideTestGain"] == "1.25" and m["TunWideTestGainSeeds"] == "2, 3"  # 0.5, 2.0
    assert m["TunDaeSeedsAboveTop"] == "1"  # 20.5
    assert m["TunDaeGapBm"] == "0.47" and m["TunDaeGapSds"] == "0.5"  # 0.47 / sd 0.93
    assert m["BestLearnedSsimAll"] == "0.650"  # the untuned DAE's 0.65 above the tuned 0.61
    assert m["TunDaeLrAtEdge"] == "no"
    assert make_numbers.tuning_numbers(tuning_record(1e-2), den)["TunDaeLrAtEdge"] == "yes"


def test_longer_training_retraces_the_tuned_networks_and_reads_the_test_curve_only(
        fake_data, tmp_path, monkeypatch, capsys):
    """analyses/dae_longer.py trains the widest tuned network past the tuning's grid: at the
    tuned epoch its test PSNR is the tuning's own (same seeds, images and noise); the epoch it
    reports is chosen on the held-out images, the best test epoch only bounds it."""
    from analyses import dae_longer
    filters = [{"method": m, "sigma": 0.5, "kind": "filter", "subset": {"psnr_db": {"mean": p}}}
               for m, p in zip(dae_longer.FILTERS + ("Wiener (linear MMSE), clipping-aware",),
                               (20.4, 20.2, 20.45))]
    den = {"subset_images": 40, "test_noise_seed": 1, "summary": filters, "sigmas": [0.5],
           "widths": [8], "sweep_seeds": [1]}
    for module in (dae_tuning, dae_longer):
        monkeypatch.setattr(module, "read_comparison", lambda out_dir: den)
    monkeypatch.setattr(dae_tuning, "plot_standing", lambda summary, args, path: None)
    common = ["--data-dir", fake_data, "--skip-md5", "--out-dir", tmp_path, "--jobs", "1"]
    assert analyses_main("dae-tuning", *common, "--epochs", "4", "--eval-every", "2",
                         "--lrs", "1e-3", "3e-2", "--widths", "8", "16", "--scored-seeds", "2",
                         "3", "--tune-images", "50", "--subset-images", "40") == 0
    tuned = json.loads((tmp_path / "dae_tuning" / "dae_tuning.json").read_text())["tuned"]["16"]
    assert analyses_main("dae-longer", *common, "--epochs", "3") == 1  # fewer than the grid's
    assert analyses_main("dae-longer", *common, "--epochs", "8") == 0
    capsys.readouterr()
    record = json.loads((tmp_path / "dae_longer" / "dae_longer.json").read_text())
    assert (record["width"], record["lr"], record["tuned_epochs"]) == (16, tuned["lr"],
                                                                       tuned["epochs"])
    assert record["reproduces_tuning"]
    for s in ("2", "3"):
        assert record["curves"][s]["test"][str(tuned["epochs"])] == pytest.approx(
            tuned["per_seed"][s]["subset"]["psnr_db"], abs=1e-4)
        assert sorted(map(int, record["curves"][s]["held_out"])) == [2, 4, 6, 8]
    mean = {k: {e: sum(record["curves"][s][k][e] for s in ("2", "3")) / 2 for e in
                record["curves"]["2"][k]} for k in ("held_out", "test")}
    assert str(record["chosen_epoch"]) == max(mean["held_out"], key=mean["held_out"].get)
    assert str(record["best_test_epoch"]) == max(mean["test"], key=mean["test"].get)
    assert record["test_at_chosen"]["mean"] == pytest.approx(
        mean["test"][str(record["chosen_epoch"])])
    for s, images in record["subset_image_psnr_db_at_chosen"].items():  # for paired.py
        assert len(images) == 40 and sum(images) / 40 == pytest.approx(
            record["curves"][s]["test"][str(record["chosen_epoch"])])
    assert record["filters_test_psnr_db"] == dict(zip(dae_longer.FILTERS, (20.4, 20.2)))
    assert (tmp_path / "dae_longer" / "dae_longer.png").read_bytes()[:4] == b"\x89PNG"
    # --redraw trains nothing, keeps the record, and draws the leaders once their records exist
    monkeypatch.setattr(dae_tuning, "run_all", lambda *a: pytest.fail("--redraw trained"))
    drawn = []
    monkeypatch.setattr(dae_longer, "plot", lambda record, path, lines: drawn.append(lines))
    text = (tmp_path / "dae_longer" / "dae_longer.json").read_text()
    for folder, psnr in (("bm3d_blocks", 20.7), ("patch_prior", 20.8)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / f"{folder}.json").write_text(json.dumps(
            {"pipelines": {"clipping-aware": {"test": {"psnr_db": psnr}}}}))
    assert analyses_main("dae-longer", *common, "--redraw") == 0
    assert (tmp_path / "dae_longer" / "dae_longer.json").read_text() == text
    lines, = drawn
    assert {k: v[0] for k, v in lines.items()} == {
        "non-local means, clipping-aware": 20.4, "BM3D (library blocks), clipping-aware": 20.2,
        "Wiener (linear MMSE), clipping-aware": 20.45,
        "BM3D, tuned blocks, clipping-aware": 20.7, "learned dictionary, clipping-aware": 20.8}
