"""pico-torch: an UNOFFICIAL torch re-implementation of the PICO learned image codec (arXiv 2605.05148).

Importing this package registers the codec without importing torch (the network is loaded on first use).
"""

from harness.codecs.pico_torch.codec import PicoTorch

__all__ = ["PicoTorch"]
