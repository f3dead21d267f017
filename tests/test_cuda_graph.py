"""The GPU's captured training step (cuda_graph.py): the same losses as the ordinary step, and
the CPU path never touches it."""

import pytest
import torch

import cuda_graph
import ex09
from conftest import LIVE_SEED, TINY_RUN


def test_the_cpu_path_never_uses_the_captured_step(fake_data, tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the CPU run called the CUDA graph step")
    monkeypatch.setattr(cuda_graph, "captured_training", refuse)
    assert ex09.main([*TINY_RUN, "--data-dir", str(fake_data), "--out-dir", str(tmp_path),
                      "--device", "cpu", "--seed", str(LIVE_SEED)]) == 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (none here)")
@pytest.mark.parametrize("mode", ["plain", "denoise"])
def test_captured_epochs_give_the_losses_of_ordinary_steps(mode):
    from types import SimpleNamespace
    device = torch.device("cuda")
    x = torch.rand(1000, 784, generator=torch.Generator().manual_seed(0), device="cpu") * 2 - 1
    x = x.to(device)
    args = SimpleNamespace(lr=1e-3, weight_decay=1e-5, batch_size=128, mode=mode,
                           noise_std=0.5)
    losses = {}
    for captured in (False, True):
        ex09.set_seeds(LIVE_SEED)
        model = ex09.AutoEncoder().to(device)
        loss_fn = torch.nn.MSELoss()
        noise_gen = torch.Generator(device=device).manual_seed(3)
        shuffle_gen = torch.Generator().manual_seed(4)
        adam = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=args.weight_decay,
                                capturable=True)
        if captured:
            adam, run = cuda_graph.captured_training(model, adam, args, loss_fn, x, noise_gen)
            assert run is not None, "capture failed"
            losses[captured] = [run.epoch(shuffle_gen) for _ in range(40)]  # 320 steps
        else:
            noise = args.noise_std if mode == "denoise" else 0.0
            losses[captured] = [ex09.train_epoch(model, adam, loss_fn, x, args.batch_size,
                                                 shuffle_gen, noise, noise_gen)
                                for _ in range(40)]
    # The same arithmetic replayed, and the same noise: the generator registered with the graph
    # draws what the ordinary steps draw.
    assert losses[True] == pytest.approx(losses[False], rel=1e-4)
