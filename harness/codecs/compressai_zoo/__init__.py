"""compressai: CompressAI's image models (zoo or your checkpoint) as codecs.

Importing this package registers the codec without importing torch or compressai.
"""

from harness.codecs.compressai_zoo.codec import CompressAI

__all__ = ["CompressAI"]
