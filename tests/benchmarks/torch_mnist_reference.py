r"""The mnist_gan iteration in PyTorch eager, the same networks and update as
bare_jax_reference.py (G 100-1200-1200-784, maxout D 784-240x5-240x5-1 with dropout, one
simultaneous D/G momentum-SGD update on a batch of 100), for the accelerator benchmark.

The data is a tensor already on the device (as gan_jax's resident split); nothing is copied
from the host per iteration.
"""
import time

import torch
from torch import nn

BATCH = 100


class Maxout(nn.Module):
  def __init__(self, inputs: int, units: int, pieces: int):
    super().__init__()
    self.linear, self.units, self.pieces = nn.Linear(inputs, units * pieces), units, pieces

  def forward(self, x):
    return self.linear(x).view(-1, self.units, self.pieces).amax(-1)


def networks(device):
  g = nn.Sequential(nn.Linear(100, 1200), nn.ReLU(), nn.Linear(1200, 1200), nn.ReLU(),
                    nn.Linear(1200, 784), nn.Sigmoid()).to(device)
  d = nn.Sequential(nn.Dropout(0.2), Maxout(784, 240, 5), nn.Dropout(0.5), Maxout(240, 240, 5),
                    nn.Dropout(0.5), nn.Linear(240, 1)).to(device)
  for module in list(g) + list(d):
    for p in module.parameters():
      nn.init.uniform_(p, -0.05 if module in g else -0.005, 0.05 if module in g else 0.005)
  return g, d


def time_iteration(device: str = 'cpu', num_steps: int = 100) -> float:
  """Seconds per iteration, after warm-up."""
  torch.manual_seed(0)
  g, d = networks(device)
  g_opt = torch.optim.SGD(g.parameters(), lr=0.1, momentum=0.5)
  d_opt = torch.optim.SGD(d.parameters(), lr=0.1, momentum=0.5)
  x = torch.rand(BATCH, 784, device=device)
  softplus = nn.functional.softplus

  def iteration():
    z = (torch.rand(BATCH, 100, device=device) * 2 - 1) * 3**.5
    fake = g(z)
    # Both losses at the same parameters (the released simultaneous rule).
    d_loss = 0.5 * (softplus(-d(x)).mean() + softplus(d(fake.detach())).mean())
    g_loss = softplus(-d(fake)).mean()
    d_grads = torch.autograd.grad(d_loss, list(d.parameters()), retain_graph=True)
    g_grads = torch.autograd.grad(g_loss, list(g.parameters()))
    for p, grad in zip(d.parameters(), d_grads):
      p.grad = grad
    for p, grad in zip(g.parameters(), g_grads):
      p.grad = grad
    d_opt.step()
    g_opt.step()

  for _ in range(10):
    iteration()
  if device.startswith('cuda'):
    torch.cuda.synchronize()
  start = time.perf_counter()
  for _ in range(num_steps):
    iteration()
  if device.startswith('cuda'):
    torch.cuda.synchronize()
  return (time.perf_counter() - start) / num_steps


if __name__ == '__main__':
  print(f'PyTorch eager iteration: {time_iteration() * 1e3:.2f} ms')
