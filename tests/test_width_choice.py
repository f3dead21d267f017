"""The width the held-out images choose (python -m analyses width-choice): every width trains
on the training images less the held-out ones, at the sheet's settings, and the choice is the
best held-out score."""

import json

import torch

import ex09
import fashion_mnist as fm
from analyses import width_choice


def analyses_main(*args):
    from analyses.__main__ import main
    return main([str(a) for a in args])


def test_every_width_trains_without_the_held_out_images_and_the_best_score_is_chosen(
        fake_data, tmp_path, monkeypatch, capsys):
    x_train = fm.load_split(fake_data, "train", verify_md5=False)[0]
    seen, settings = [], []
    real_epoch, real_optimizer = ex09.train_epoch, ex09.make_optimizer

    def recording_epoch(model, optimizer, loss_fn, x, batch_size, *rest):
        seen.append(x.clone())
        return real_epoch(model, optimizer, loss_fn, x, batch_size, *rest)

    def recording_optimizer(model, lr, weight_decay):
        settings.append((lr, weight_decay))
        return real_optimizer(model, lr, weight_decay)
    monkeypatch.setattr(ex09, "train_epoch", recording_epoch)
    monkeypatch.setattr(ex09, "make_optimizer", recording_optimizer)
    assert analyses_main("width-choice", "--data-dir", fake_data, "--skip-md5", "--out-dir",
                         tmp_path, "--jobs", "1", "--epochs", "4", "--eval-every", "2",
                         "--widths", "16", "8", "--tune-images", 50) == 0
    capsys.readouterr()
    assert seen and all(torch.equal(x, x_train[:-50]) for x in seen)
    sheet = ex09.build_parser().parse_args([])
    assert set(settings) == {(1e-3, sheet.weight_decay)}  # the sheet's Adam (Q2c)
    record = json.loads((tmp_path / "width_choice" / "width_choice.json").read_text())
    assert record["widths"] == [8, 16] and record["train_images"] == len(x_train) - 50
    curves = record["held_out_psnr_db"]
    assert all(sorted(curves[w]) == ["2", "4"] for w in ("8", "16"))
    best = max((p, int(w), int(e)) for w, c in curves.items() for e, p in c.items())
    chosen = record["chosen"]
    assert (chosen["held_out_psnr_db"], chosen["width"], chosen["epoch"]) == best
    assert chosen["at_edge"] == (chosen["width"] == 16)
    assert (tmp_path / "width_choice" / "width_choice.png").exists()


def test_the_choice_is_the_best_score_over_widths_and_epochs():
    assert width_choice.choose({8: {10: 17.0, 20: 17.5}, 16: {10: 17.8, 20: 17.6}}) == (
        16, 10, 17.8)


def test_too_many_held_out_images_is_a_clear_error(fake_data, tmp_path, capsys):
    n = len(fm.load_split(fake_data, "train", verify_md5=False)[0])
    assert analyses_main("width-choice", "--data-dir", fake_data, "--skip-md5", "--out-dir",
                         tmp_path, "--tune-images", n) == 1
    assert "leaves no training image" in capsys.readouterr().err
    assert not (tmp_path / "width_choice").exists()
