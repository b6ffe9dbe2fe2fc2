"""harness: a reproducible benchmark harness for classic and learned image codecs."""

__version__ = "0.1.0"
