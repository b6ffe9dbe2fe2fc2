"""Contenders that are not codecs: reconstructions made elsewhere, read from disk with their stated rates.

They register in the codec registry (``--codecs pico`` works like any codec) but implement only
:class:`harness.codecs.base.Contender`: there is no encoder or decoder to run.
"""
