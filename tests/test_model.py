"""Q2a-c: the architecture, loss and optimiser exactly as the sheet specifies."""

import torch
from torch import nn

import ex09


def layers(module):
    return [m for m in module.net]


def test_encoder_is_784_128_64_32_16_8_with_relu_after_every_layer():
    f = ex09.Encoder()
    mods = layers(f)
    linears = [m for m in mods if isinstance(m, nn.Linear)]
    assert [(l.in_features, l.out_features) for l in linears] == [
        (784, 128), (128, 64), (64, 32), (32, 16), (16, 8)]
    # Strict alternation Linear, ReLU, ..., ending in ReLU.
    assert [type(m) for m in mods] == [nn.Linear, nn.ReLU] * 5


def test_decoder_is_8_8_32_64_128_784_relu_between_and_tanh_at_the_end():
    g = ex09.Decoder()
    mods = layers(g)
    linears = [m for m in mods if isinstance(m, nn.Linear)]
    assert [(l.in_features, l.out_features) for l in linears] == [
        (8, 8), (8, 32), (32, 64), (64, 128), (128, 784)]
    assert [type(m) for m in mods] == [nn.Linear, nn.ReLU] * 4 + [nn.Linear, nn.Tanh]


def test_autoencoder_maps_images_to_images_through_an_8d_nonnegative_code():
    model = ex09.AutoEncoder()
    x = torch.rand(5, 784) * 2 - 1
    h = model.f(x)
    assert h.shape == (5, 8) and bool((h >= 0).all())
    out = model(x)
    assert out.shape == (5, 784)
    assert bool((out.abs() <= 1).all())
    assert torch.equal(out, model.g(h))


def test_optimizer_is_adam_with_sheet_settings():
    model = ex09.AutoEncoder()
    opt = ex09.make_optimizer(model, lr=1e-3, weight_decay=1e-5)
    assert isinstance(opt, torch.optim.Adam)
    group = opt.param_groups[0]
    assert group["lr"] == 1e-3
    assert group["weight_decay"] == 1e-5
    assert group["betas"] == (0.9, 0.999)  # Adam's own momentum stays at its default
    assert group["fused"] is True  # the fastest CPU implementation (benchmarks/bench.py)
    assert sum(p.numel() for p in group["params"]) == sum(p.numel() for p in model.parameters())


def test_cli_defaults_are_the_sheet_settings():
    args = ex09.build_parser().parse_args([])
    assert (args.mode, args.epochs, args.batch_size, args.lr, args.weight_decay) == (
        "plain", 50, 128, 1e-3, 1e-5)
    assert args.tsne_samples == 500 and args.eval_every == 10
    assert args.noise_std == 0.5  # 0.25 on [0, 1] pixels


def test_train_epoch_reports_mean_loss_per_sample_and_updates_weights():
    torch.manual_seed(0)
    model = ex09.AutoEncoder()
    x = torch.rand(300, 784) * 2 - 1
    before = ex09.evaluate(model, x, x)
    opt = torch.optim.SGD(model.parameters(), lr=0.0)  # lr 0: the loss must equal evaluate()
    loss = ex09.train_epoch(model, opt, nn.MSELoss(), x, 128, torch.Generator().manual_seed(0))
    assert abs(loss - before) < 1e-6
    opt = ex09.make_optimizer(model, 1e-3, 1e-5)
    w0 = model.f.net[0].weight.clone()
    ex09.train_epoch(model, opt, nn.MSELoss(), x, 128, torch.Generator().manual_seed(0))
    assert not torch.equal(w0, model.f.net[0].weight)


def test_denoising_epoch_uses_noisy_inputs_and_clean_targets():
    torch.manual_seed(0)
    model = ex09.AutoEncoder()
    x = torch.zeros(256, 784)
    seen = []
    model.register_forward_pre_hook(lambda mod, inp: seen.append(inp[0].clone()))
    targets = []
    loss_fn = lambda out, target: (targets.append(target.clone()), nn.functional.mse_loss(out, target))[1]
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    ex09.train_epoch(model, opt, loss_fn, x, 128, torch.Generator().manual_seed(0),
                     noise_std=0.5, noise_gen=torch.Generator().manual_seed(1))
    assert all(float(inp.std()) > 0.3 for inp in seen)      # inputs carry noise
    assert all(bool((t == 0).all()) for t in targets)        # targets are the clean images
    assert not torch.equal(seen[0], seen[1])                 # fresh noise every batch


def test_tsne_is_skipped_with_a_note_when_every_code_is_the_same(tmp_path):
    model = ex09.AutoEncoder()
    last = model.f.net[-2]  # the code layer's Linear: all-zero weights, negative bias
    torch.nn.init.zeros_(last.weight)
    torch.nn.init.constant_(last.bias, -1.0)  # ReLU makes every code exactly 0
    x = torch.rand(40, 784) * 2 - 1
    labels = torch.arange(40) % 10
    idx = ex09.stratified_indices(labels, 20, 0)
    note = ex09.embed_codes(model, x, labels, idx, 0, "title", tmp_path)
    assert note and "collapsed" in note
    assert not (tmp_path / "tsne.png").exists()
    torch.manual_seed(0)
    assert ex09.embed_codes(ex09.AutoEncoder(), x, labels, idx, 0, "title", tmp_path) is None
    assert (tmp_path / "tsne.png").exists() and (tmp_path / "tsne_codes.npz").exists()


def test_network_health_on_a_hand_made_dead_network_and_a_live_one():
    torch.manual_seed(1)
    model = ex09.AutoEncoder()
    x = torch.rand(500, 784) * 2 - 1
    first = model.g.net[0]  # the decoder's first Linear: no unit can ever be positive
    torch.nn.init.zeros_(first.weight)
    torch.nn.init.constant_(first.bias, -1.0)
    dead = ex09.network_health(model, x)
    assert dead["live_decoder_units"] == 0 and dead["output_varies"] is False
    torch.nn.init.constant_(first.bias[:3], 0.5)  # three units now carry (constant) values
    torch.nn.init.normal_(first.weight[:3])
    alive = ex09.network_health(model, x)
    assert alive["live_decoder_units"] == 3 and alive["output_varies"] is True
    code = model.f.net[-2]  # the code layer's Linear: units 0-4 always off, 5-7 as trained
    torch.nn.init.constant_(code.bias[:5], -100.0)
    torch.nn.init.zeros_(code.weight[:5])
    assert ex09.network_health(model, x)["live_code_units"] <= 3


def test_a_unit_is_live_from_one_percent_of_the_images():
    class FirstEight(nn.Module):  # a stand-in encoder: the code is the input's first 8 values
        def forward(self, x):
            return x[:, :8]

    model = ex09.AutoEncoder()
    model.f = FirstEight()
    h = torch.zeros(1000, 8)
    h[:, 0] = 1.0      # always on
    h[:10, 1] = 0.5    # on for exactly 1 %: live
    h[:9, 2] = 0.5     # on for 0.9 %: not
    h[500:, 3] = -2.0  # negative values count (a linear code)
    assert ex09.network_health(model, h)["live_code_units"] == 3


def test_seed_0_starts_dead_on_the_real_test_images_and_seed_1_does_not(real_data):
    import fashion_mnist as fm
    x, _ = fm.load_split(real_data, "test")
    health = {}
    for seed in (0, 1):
        ex09.set_seeds(seed)
        health[seed] = ex09.network_health(ex09.AutoEncoder(), x)
    assert health[0]["output_varies"] is False and health[0]["live_decoder_units"] == 0
    assert health[1]["output_varies"] is True and health[1]["live_decoder_units"] > 0
