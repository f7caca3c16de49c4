"""gan_jax: Generative Adversarial Nets (Goodfellow et al., 2014) and Denoising Feature Matching
(Warde-Farley & Bengio, 2017) in JAX/Flax."""
