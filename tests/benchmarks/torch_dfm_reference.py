"""A PyTorch reference of the cifar10_dcgan / cifar10_dfm iteration, for tests/benchmarks/
dfm_iteration.py: the same networks (gan_jax/models/radford.py, denoiser.py) at the same sizes and
the same step (gan_jax/steps.py `joint_update`), written the way a PyTorch user would, in eager
mode. Only its speed is measured; tests/benchmarks/dfm_iteration.py checks that its parameter
counts equal ours, so that both sides do the same work.

The step: z ~ N(0, I); G(z); D on the real batch and on G(z) separately (each with its own batch
statistics); D's loss (minimax cross-entropy), G's (non-saturating, plus with DFM eq. 4:
λ_denoise / n_h ||Φ(G(z)) - r(Φ(G(z)))||² with r's output a constant), r's (eq. 5: the clean
Φ(x) from Φ(x) + N(0, σ²)); every gradient at the same parameters (torch.autograd.grad per
network from one graph), then Adam on all of them.
"""
from typing import List, Optional, Tuple

import torch
from torch import nn
from torch.nn import functional as F


class Generator(nn.Module):
  """radford.RadfordGenerator: dense -> s x s x 4c, then 3x3 transposed convs (4c s2, 2c s1,
  2c s2, c s1, c s2), each BN + ReLU, then a 3x3 conv-transpose to RGB and a sigmoid."""

  def __init__(self, z_dim: int, c: int, side: int = 32, channels: int = 3):
    super().__init__()
    self.s, self.c = side // 8, c
    self.project = nn.Linear(z_dim, self.s * self.s * 4 * c, bias=False)
    self.project_bn = nn.BatchNorm1d(self.s * self.s * 4 * c)
    layers, inputs = [], 4 * c
    for features, stride in ((4 * c, 2), (2 * c, 1), (2 * c, 2), (c, 1), (c, 2)):
      layers += [nn.ConvTranspose2d(inputs, features, 3, stride, padding=1,
                                    output_padding=stride - 1, bias=False),
                 nn.BatchNorm2d(features), nn.ReLU()]
      inputs = features
    layers.append(nn.ConvTranspose2d(inputs, channels, 3, 1, padding=1, bias=False))
    self.body = nn.Sequential(*layers)

  def forward(self, z):
    h = F.relu(self.project_bn(self.project(z)))
    return torch.sigmoid(self.body(h.view(-1, 4 * self.c, self.s, self.s)))


class Discriminator(nn.Module):
  """radford.RadfordDiscriminator: 3x3 convs c s1, c s2, 2c s1, 2c s2, 4c s1, 4c s2, leaky ReLU
  0.2, BN on all but the first; returns (logit, Φ)."""

  def __init__(self, c: int, channels: int = 3):
    super().__init__()
    layers, inputs = [], channels
    for i, (features, stride) in enumerate(((c, 1), (c, 2), (2 * c, 1), (2 * c, 2), (4 * c, 1),
                                            (4 * c, 2))):
      layers.append(nn.Conv2d(inputs, features, 3, stride, padding=1, bias=False))
      if i > 0:
        layers.append(nn.BatchNorm2d(features))
      layers.append(nn.LeakyReLU(0.2))
      inputs = features
    self.body = nn.Sequential(*layers)
    self.output = None  # Sized on first use (n_h depends on the image side).

  def build(self, feature_dim: int):
    self.output = nn.Linear(feature_dim, 1, bias=False)
    return self

  def forward(self, x):
    features = self.body(x).flatten(1)
    return self.output(features)[:, 0], features


class Denoiser(nn.Module):
  """denoiser.Denoiser: num_layers x (Linear without bias, BN, ReLU), then a linear output."""

  def __init__(self, feature_dim: int, num_layers: int, width: int):
    super().__init__()
    layers, inputs = [], feature_dim
    for _ in range(num_layers):
      layers += [nn.Linear(inputs, width, bias=False), nn.BatchNorm1d(width), nn.ReLU()]
      inputs = width
    layers.append(nn.Linear(inputs, feature_dim))
    self.body = nn.Sequential(*layers)

  def forward(self, h):
    return self.body(h)


def parameter_count(module: nn.Module) -> int:
  return sum(p.numel() for p in module.parameters())


class Step:
  """One iteration of the simultaneous (DFM) update, in PyTorch eager mode."""

  def __init__(self, z_dim: int, c: int, side: int, denoiser: Optional[Tuple[int, int]],
               batch_size: int, sigma: float = 1.0, denoise_weight: float = 0.03):
    self.z_dim, self.batch_size, self.sigma = z_dim, batch_size, sigma
    self.g = Generator(z_dim, c, side)
    feature_dim = (side // 8) ** 2 * 4 * c
    self.d = Discriminator(c).build(feature_dim)
    self.r = Denoiser(feature_dim, *denoiser) if denoiser else None
    self.lambda_denoise = denoise_weight / feature_dim
    networks = [self.g, self.d] + ([self.r] if self.r else [])
    self.optimizers = [torch.optim.Adam(n.parameters(), lr=1e-4, betas=(0.5, 0.999))
                       for n in networks]
    self.networks = networks

  def __call__(self, x: torch.Tensor) -> List[float]:
    z = torch.randn(self.batch_size, self.z_dim)
    fake = self.g(z)
    real_logits, real_features = self.d(x)
    fake_logits, fake_features = self.d(fake)
    d_loss = F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
    g_loss = F.softplus(-fake_logits).mean()
    losses = [None, d_loss]
    if self.r is not None:
      clean = real_features.detach()
      reconstruction = self.r(clean + self.sigma * torch.randn_like(clean))
      r_loss = ((reconstruction - clean) ** 2).sum(1).mean()
      denoised = self.r(fake_features.detach()).detach()
      g_loss = g_loss + self.lambda_denoise * ((fake_features - denoised) ** 2).sum(1).mean()
      losses.append(r_loss)
    losses[0] = g_loss
    for i, (network, loss) in enumerate(zip(self.networks, losses)):
      params = list(network.parameters())
      grads = torch.autograd.grad(loss, params, retain_graph=i < len(losses) - 1)
      for p, grad in zip(params, grads):
        p.grad = grad
    for optimizer in self.optimizers:
      optimizer.step()
    return [float(l) for l in losses]
