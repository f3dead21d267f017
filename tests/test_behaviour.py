"""What a run does, pinned down one behaviour at a time, each on a network that is alive
(seed 1; seed 0's output does not depend on its input, so 'the figure shows the model's
output' would pass on a constant there)."""

import csv
import json

import pytest
import torch

import ex09
import fashion_mnist as fm
import noise
from conftest import LIVE_SEED, TINY_RUN, assert_alive


def run_main(fake_data, out_dir, *extra):
    """A tiny run in this process; no t-SNE unless `extra` asks for it (it takes the time)."""
    code = ex09.main(["--data-dir", str(fake_data), "--out-dir", str(out_dir), *TINY_RUN,
                      "--tsne-samples", "0", "--seed", str(LIVE_SEED), *map(str, extra)])
    assert code == 0


@pytest.fixture
def spy(monkeypatch):
    """spy(module, name) records every call's arguments and result in a list."""
    def install(module, name):
        calls = []
        original = getattr(module, name)

        def wrapper(*args, **kwargs):
            result = original(*args, **kwargs)
            calls.append((args, kwargs, result))
            return result

        monkeypatch.setattr(module, name, wrapper)
        return calls
    return install


def test_run_gives_adam_the_lr_and_weight_decay_of_the_command_line(fake_data, tmp_path, spy):
    calls = spy(ex09, "make_optimizer")
    run_main(fake_data, tmp_path, "--lr", "0.0123", "--weight-decay", "0.0456", "--epochs", "1")
    (_, _, optimizer), = calls
    group = optimizer.param_groups[0]
    assert isinstance(optimizer, torch.optim.Adam)
    assert (group["lr"], group["weight_decay"]) == (0.0123, 0.0456)


def test_reconstruction_figure_shows_the_input_then_the_models_output(fake_data, tmp_path, spy):
    calls = spy(ex09, "plot_image_rows")
    run_main(fake_data, tmp_path)
    x_test, y_test = fm.load_split(fake_data, "test", verify_md5=False)
    model = ex09.AutoEncoder()
    model.load_state_dict(torch.load(tmp_path / "plain" / "model.pt"))
    assert_alive(model, x_test)
    last = [args for args, _, _ in calls if str(args[3]).endswith("recon_epoch003.png")]
    (rows, titles, _, _), = last
    shown = ex09.first_of_each_class(y_test)
    assert [label for label, _ in rows] == ["input", "reconstruction"]
    # .cpu(): on a GPU machine the run's tensors live on the device (seen on an H200)
    assert torch.equal(rows[0][1].cpu(), x_test[shown])
    with torch.no_grad():
        assert torch.allclose(rows[1][1].cpu(), model(x_test[shown]), atol=1e-5)
    assert titles == [fm.CLASS_NAMES[int(y_test[i])] for i in shown]


def test_denoising_noise_is_fresh_every_epoch_and_plain_mode_trains_on_clean_images(
        fake_data, tmp_path, spy):
    calls = spy(ex09, "add_white_noise")  # training noise, as train_epoch draws it
    run_main(fake_data, tmp_path / "plain", "--batch-size", "1000")
    assert calls == []  # plain: no noise anywhere
    run_main(fake_data, tmp_path / "denoise", "--mode", "denoise", "--batch-size", "1000")
    # The fixed test noise (120 test images), then one batch of 300 per epoch.
    assert [len(args[0]) for args, _, _ in calls] == [120, 300, 300, 300]
    noises = [result - args[0] for args, _, result in calls[1:]]
    assert all(float(n.abs().max()) > 0.1 for n in noises)
    assert not torch.equal(noises[0], noises[1]) and not torch.equal(noises[1], noises[2])


def test_fixed_test_noise_comes_from_the_documented_seed_whatever_the_training_seed(
        fake_data, tmp_path, spy):
    calls = spy(ex09, "plot_image_rows")
    x_test, y_test = fm.load_split(fake_data, "test", verify_md5=False)
    expected = noise.add_white_noise(x_test, 0.5, torch.Generator().manual_seed(
        noise.TEST_NOISE_SEED))[ex09.first_of_each_class(y_test)]
    for seed in (LIVE_SEED, 7):
        run_main(fake_data, tmp_path / str(seed), "--mode", "denoise", "--seed", seed,
                 "--epochs", "1")
        rows = [args[0] for args, _, _ in calls if str(args[3]).endswith(
            "recon_epoch001.png")][-1]
        assert rows[0][0] == "noisy input" and torch.equal(rows[0][1].cpu(), expected)
        assert rows[2][0] == "original" and torch.equal(rows[2][1].cpu(), x_test[
            ex09.first_of_each_class(y_test)])


def test_training_set_is_reshuffled_every_epoch_and_seed_drives_shuffle_and_weights(
        fake_data, tmp_path):
    starts = []
    orders = []
    original_randperm = torch.randperm

    def recording_randperm(n, generator=None, **kwargs):
        order = original_randperm(n, generator=generator, **kwargs)
        if n == 300:  # the training set's shuffle (t-SNE sampling draws others)
            orders.append(order.clone())
        return order

    ex09.torch.randperm = recording_randperm
    try:
        for name, seed in (("a", 1), ("b", 1), ("c", 2)):
            count = len(orders)
            run_main(fake_data, tmp_path / name, "--seed", seed)
            starts.append(orders[count:])
    finally:
        ex09.torch.randperm = original_randperm
    a, b, c = starts
    assert len(a) == 3 and not torch.equal(a[0], a[1]) and not torch.equal(a[1], a[2])
    assert not torch.equal(a[0], torch.arange(len(a[0])))
    assert all(torch.equal(x, y) for x, y in zip(a, b))  # the same seed repeats
    assert not torch.equal(a[0], c[0])  # another seed shuffles differently


def test_seed_drives_the_initial_weights(fake_data, tmp_path, monkeypatch):
    initial = []
    original = ex09.train

    def record(args, model, *rest):
        initial.append(torch.cat([p.detach().flatten().clone() for p in model.parameters()]))
        return original(args, model, *rest)

    monkeypatch.setattr(ex09, "train", record)
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        run_main(fake_data, tmp_path / name, "--seed", seed, "--epochs", "1")
    assert torch.equal(initial[0], initial[1]) and not torch.equal(initial[0], initial[2])


def test_tsne_sample_is_stratified_even_when_labels_arrive_sorted():
    labels = torch.arange(10).repeat_interleave(40)  # all 0s, then all 1s, ...
    idx = ex09.stratified_indices(labels, 30, seed=0)
    assert torch.bincount(labels[idx], minlength=10).tolist() == [3] * 10
    assert len(set(idx.tolist())) == 30
    assert not torch.equal(idx, ex09.stratified_indices(labels, 30, seed=1))
    uneven = ex09.stratified_indices(labels, 25, seed=0)
    assert torch.bincount(labels[uneven], minlength=10).tolist() == [3] * 5 + [2] * 5


def test_tsne_encodes_the_clean_test_images_in_denoise_mode(fake_data, tmp_path):
    run_main(fake_data, tmp_path, "--mode", "denoise", "--tsne-samples", "30")
    x_test, _ = fm.load_split(fake_data, "test", verify_md5=False)
    model = ex09.AutoEncoder()
    model.load_state_dict(torch.load(tmp_path / "denoise" / "model.pt"))
    assert_alive(model, x_test)
    saved = __import__("numpy").load(tmp_path / "denoise" / "tsne_codes.npz")
    idx = torch.from_numpy(saved["indices"])
    clean = ex09.encode(model, x_test[idx]).numpy()
    noisy = ex09.encode(model, noise.add_white_noise(x_test, 0.5, torch.Generator().manual_seed(
        noise.TEST_NOISE_SEED))[idx]).numpy()
    assert abs(saved["codes"] - clean).max() < 1e-6
    assert abs(saved["codes"] - noisy).max() > 1e-3


def test_tsne_samples_accepts_the_whole_test_set_and_refuses_one_more(fake_data, tmp_path,
                                                                      capsys):
    n_test = len(fm.load_split(fake_data, "test", verify_md5=False)[1])
    run_main(fake_data, tmp_path / "a", "--tsne-samples", n_test, "--epochs", "1")
    assert len(__import__("numpy").load(tmp_path / "a" / "plain" / "tsne_codes.npz")[
        "indices"]) == n_test
    code = ex09.main(["--data-dir", str(fake_data), "--out-dir", str(tmp_path / "b"), *TINY_RUN,
                      "--test-limit", str(n_test), "--tsne-samples", str(n_test + 1)])
    assert code == 1 and f"size ({n_test}), got {n_test + 1}" in capsys.readouterr().err


def test_publishing_leaves_no_file_of_an_earlier_run(fake_data, tmp_path):
    earlier = tmp_path / "plain"
    earlier.mkdir()
    (earlier / "recon_epoch040.png").write_bytes(b"an earlier run's figure")
    run_main(fake_data, tmp_path, "--epochs", "1")
    assert not (earlier / "recon_epoch040.png").exists()
    assert (earlier / "metrics.json").exists()


def test_losses_csv_has_every_column_of_its_header_in_every_row(fake_data, tmp_path):
    run_main(fake_data, tmp_path, "--epochs", "4")
    with open(tmp_path / "plain" / "losses.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    assert header == ["epoch", "train_loss", "test_loss", "live_code_units", "live_decoder_units",
                      "output_varies", "train_seconds", "epoch_seconds"]
    assert [len(row) for row in body] == [len(header)] * 5
    assert [row[0] for row in body] == ["0", "1", "2", "3", "4"]
    for row in body[1:]:
        assert all(row[header.index(c)] for c in ("train_loss", "train_seconds", "epoch_seconds"))
    metrics = json.loads((tmp_path / "plain" / "metrics.json").read_text())
    assert float(body[-1][2]) == metrics["final_test_loss"]


def test_training_minimises_the_mean_not_the_sum_of_squared_errors(fake_data, tmp_path, spy):
    calls = spy(ex09, "train_epoch")
    run_main(fake_data, tmp_path, "--epochs", "1")
    (args, _, train_loss), = calls
    loss_fn = args[2]
    out, target = torch.zeros(3, 784), torch.ones(3, 784)
    assert float(loss_fn(out, target)) == 1.0  # per pixel and image: the sheet's MSE
    assert 0 < train_loss < 4  # 4 is the largest per-pixel error on [-1, 1]


def test_every_test_evaluation_records_the_networks_health(fake_data, tmp_path, capsys):
    run_main(fake_data, tmp_path, "--mode", "denoise", "--epochs", "3")
    with open(tmp_path / "denoise" / "losses.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        tested = row["epoch"] in ("0", "2", "3")
        for column in ("live_code_units", "live_decoder_units", "output_varies",
                       "live_code_units_noisy", "live_decoder_units_noisy", "output_varies_noisy"):
            assert bool(row[column]) == tested, (row["epoch"], column)
    metrics = json.loads((tmp_path / "denoise" / "metrics.json").read_text())
    assert list(metrics["health_by_epoch"]) == ["0", "2", "3"]
    assert metrics["dead_at_start"] is False  # seed 1 starts alive
    model = ex09.AutoEncoder()
    model.load_state_dict(torch.load(tmp_path / "denoise" / "model.pt"))
    x_test, _ = fm.load_split(fake_data, "test", verify_md5=False)
    assert metrics["health_by_epoch"]["3"]["live_code_units"] == ex09.network_health(
        model, x_test)["live_code_units"]
    assert "live units: code" in capsys.readouterr().out


def test_a_dead_start_says_so_in_one_line(fake_data, tmp_path, capsys):
    ex09.main(["--data-dir", str(fake_data), "--out-dir", str(tmp_path), *TINY_RUN, "--seed", "0",
               "--epochs", "1"])
    out = capsys.readouterr().out
    assert out.count("note: the network starts dead") == 1
    assert json.loads((tmp_path / "plain" / "metrics.json").read_text())["dead_at_start"] is True
    run_main(fake_data, tmp_path / "alive", "--epochs", "1")
    assert "starts dead" not in capsys.readouterr().out
