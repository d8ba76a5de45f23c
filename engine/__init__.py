"""Vernissage: a generative-art installation engine for latent-space walks of trained GANs.

Sub-packages are imported by what uses them: nothing here pulls torch or OpenGL, so the
command line answers ``--help``, ``check`` and ``osc send`` at once.
"""

__version__ = "0.2.0"
