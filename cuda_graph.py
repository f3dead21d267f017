"""A training epoch for CUDA without per-step host overhead (ex09.py uses it on a GPU only).

The sheet's network is so small that a GPU step is ~35 kernel launches and Python around them:
the GPU waits on the host. Here one whole step (gather the mini-batch, draw its noise on the
device, forward, backward, Adam) is captured once as a CUDA graph and replayed for every full
mini-batch; the last, smaller batch of an epoch runs as an ordinary step. The CPU path of
ex09.py does not use this file. Equivalence with the ordinary step: tests/test_cuda_graph.py
(skipped without a GPU).
"""

import torch

from noise import add_white_noise

WARMUP_STEPS = 3  # on a side stream before capture, as CUDA graphs require; then undone


class CapturedTraining:
    def __init__(self, model, optimizer, loss_fn, x_train, batch_size, noise_std, noise_gen):
        self.model, self.optimizer, self.loss_fn = model, optimizer, loss_fn
        self.x_train, self.batch_size, self.noise_std = x_train, batch_size, noise_std
        self.noise_gen = noise_gen
        self.index = torch.zeros(batch_size, dtype=torch.long, device=x_train.device)
        self.graph = torch.cuda.CUDAGraph()
        if noise_std > 0:  # the graph advances this generator's state at every replay
            self.graph.register_generator_state(noise_gen)
        weights = [v.clone() for v in model.state_dict().values()]
        noise_state = noise_gen.get_state() if noise_std > 0 else None
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(WARMUP_STEPS):
                self._step()
        torch.cuda.current_stream().wait_stream(side)
        # The warm-up leaves no trace: weights back, Adam's state back to a fresh start (zeros,
        # step 0) in place, since the graph records these very tensors, and the noise undrawn.
        with torch.no_grad():
            for tensor, saved in zip(model.state_dict().values(), weights):
                tensor.copy_(saved)
            for state in optimizer.state.values():
                for value in state.values():
                    if torch.is_tensor(value):
                        value.zero_()
        if noise_state is not None:
            noise_gen.set_state(noise_state)
        with torch.cuda.graph(self.graph):
            self.loss = self._step()

    def _step(self):
        target = self.x_train[self.index]
        inputs = (add_white_noise(target, self.noise_std, self.noise_gen)
                  if self.noise_std > 0 else target)
        self.optimizer.zero_grad(set_to_none=False)  # graphs need the same grad tensors
        loss = self.loss_fn(self.model(inputs), target)
        loss.backward()
        self.optimizer.step()
        return loss.detach()

    def epoch(self, shuffle_gen):
        """As ex09.train_epoch: one pass in freshly shuffled mini-batches, the mean loss."""
        self.model.train()
        n, total = self.x_train.shape[0], torch.zeros((), device=self.x_train.device)
        order = torch.randperm(n, generator=shuffle_gen).to(self.x_train.device)
        full = n - n % self.batch_size
        for start in range(0, full, self.batch_size):
            self.index.copy_(order[start:start + self.batch_size])
            self.graph.replay()
            total += self.loss * self.batch_size
        if full < n:  # the last, smaller batch: an ordinary step on the same tensors
            target = self.x_train[order[full:]]
            inputs = (add_white_noise(target, self.noise_std, self.noise_gen)
                      if self.noise_std > 0 else target)
            self.optimizer.zero_grad(set_to_none=False)
            loss = self.loss_fn(self.model(inputs), target)
            loss.backward()
            self.optimizer.step()
            total += loss.detach() * (n - full)
        return (total / n).item()


def captured_training(model, optimizer, args, loss_fn, x_train, noise_gen):
    """Adam with ex09.make_optimizer's settings, its step count on the device (for the graph),
    and the captured epoch: (that Adam, CapturedTraining). If this PyTorch cannot capture it,
    a note and (optimizer, None): ex09.py then trains step by step as on the CPU."""
    captured_adam = torch.optim.Adam(model.parameters(), lr=args.lr,
                                     weight_decay=args.weight_decay, capturable=True)
    noise_std = args.noise_std if args.mode == "denoise" else 0.0
    weights = [v.clone() for v in model.state_dict().values()]
    try:
        return captured_adam, CapturedTraining(model, captured_adam, loss_fn, x_train,
                                               args.batch_size, noise_std, noise_gen)
    except (RuntimeError, AttributeError, TypeError) as err:
        with torch.no_grad():  # whatever the failed capture did to the weights, undone
            for tensor, saved in zip(model.state_dict().values(), weights):
                tensor.copy_(saved)
        print(f"note: the CUDA graph step is not available here ({type(err).__name__}: "
              f"{str(err)[:120]}); training step by step")
        return optimizer, None
