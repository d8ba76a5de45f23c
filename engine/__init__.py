"""Vernissage: a generative-art installation engine for latent-space walks of trained GANs."""

__version__ = "0.1.0"
