"""Exact evaluation of a convolutional trunk on a large image in horizontal bands, without recomputation.

A trunk made of convolutions, ReLUs and poolings (AlexNet, VGG16, DISTS' VGG16 with L2 pooling) is run
on the full width of the image, a band of rows at a time. Each layer keeps only the few input rows that
its next output row still needs (kernel minus stride: 2 rows for a 3x3 convolution), pads the top and
bottom of the image itself, and emits every output row exactly once, so the work equals one full-image
pass and the features equal the full image's (each output position sees the same inputs and weights; only
the order of float additions inside a convolution may differ, about 1e-7). Memory is bounded by the band:
about ``band_pixels`` x (channels of the widest layer) x 4 bytes per live tensor, whatever the height.

:class:`FeatureSpool` keeps a stream of feature bands in an unlinked temporary file (in ``TMPDIR``): the
space is freed when the spool is dropped, or by the kernel if the process dies. The perceptual metrics
spool an original's features once and read them back band by band for each reconstruction.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

BAND_PIXELS = 1 << 16  # pixels of input per band: 16 MB per 64-channel full-resolution tensor


def band_rows(width: int, band_pixels: int = BAND_PIXELS) -> int:
    """Input rows per band for an image ``width`` px wide (at least 16)."""
    return max(16, band_pixels // max(1, width))


class _Step:
    """One layer, fed rows from the top down. ``apply`` runs the layer on rows that already carry their
    vertical padding; it pads horizontally as the layer does."""

    def __init__(self, apply: Callable[[Any], Any], kernel: int, stride: int, padding: int, height: int) -> None:
        self.apply = apply
        self.kernel, self.stride, self.padding = kernel, stride, padding
        self.out_height = (height + 2 * padding - kernel) // stride + 1
        self.next_out = 0
        self.buffer: Any = None
        self.buffer_start = -padding  # absolute input row of buffer[0]; rows < 0 are top padding

    def push(self, rows: Any | None, last: bool) -> Any | None:
        """The output rows that ``rows`` (None: no new rows) complete, or None if there are none yet."""
        import torch

        if rows is None and self.buffer is None:
            return None
        like = rows if rows is not None else self.buffer
        pieces = [] if self.buffer is None else [self.buffer]
        if self.buffer is None and self.padding:
            pieces.append(like.new_zeros(like.shape[0], like.shape[1], self.padding, like.shape[3]))
        if rows is not None:
            pieces.append(rows)
        if last and self.padding:
            pieces.append(like.new_zeros(like.shape[0], like.shape[1], self.padding, like.shape[3]))
        buffer = pieces[0] if len(pieces) == 1 else torch.cat(pieces, dim=2)
        buffer_end = self.buffer_start + buffer.shape[2]
        last_out = min((buffer_end - self.kernel + self.padding) // self.stride, self.out_height - 1)
        if last_out < self.next_out:
            self.buffer = buffer
            return None
        s, p, k = self.stride, self.padding, self.kernel
        lo = self.next_out * s - p - self.buffer_start
        hi = last_out * s - p + k - self.buffer_start
        out = self.apply(buffer[:, :, lo:hi])
        keep_from = (last_out + 1) * s - p
        self.buffer = buffer[:, :, keep_from - self.buffer_start:].clone()  # small: frees the band
        self.buffer_start = keep_from
        self.next_out = last_out + 1
        return out


def _steps(module: Any, height: int) -> tuple[list[_Step], int]:
    """Row steps for the layers of ``module`` (a Sequential of supported layers), and the output height."""
    import torch.nn.functional as F
    from torch import nn

    steps: list[_Step] = []
    for layer in module:
        if isinstance(layer, nn.ReLU):
            def relu(x: Any, inplace: bool = layer.inplace) -> Any:
                return F.relu(x, inplace=inplace)

            steps.append(_Step(relu, 1, 1, 0, height))
        elif isinstance(layer, nn.Conv2d):
            if layer.dilation != (1, 1) or layer.padding_mode != "zeros" or isinstance(layer.padding, str):
                raise ValueError(f"row streaming does not support {layer}")
            kh, s, p = layer.kernel_size[0], layer.stride[0], layer.padding[0]

            def conv(x: Any, layer: Any = layer) -> Any:
                return F.conv2d(x, layer.weight, layer.bias, layer.stride, (0, layer.padding[1]), 1, layer.groups)

            steps.append(_Step(conv, kh, s, p, height))
        elif isinstance(layer, nn.MaxPool2d):
            k, s, p = (v if isinstance(v, int) else v[0] for v in (layer.kernel_size, layer.stride, layer.padding))
            if p or layer.dilation != 1 or layer.ceil_mode:
                raise ValueError(f"row streaming does not support {layer}")
            def max_pool(x: Any, k: int = k, s: int = s) -> Any:
                return F.max_pool2d(x, k, s)

            steps.append(_Step(max_pool, k, s, 0, height))
        elif type(layer).__name__ == "L2pooling":  # DISTS' Hanning-window L2 pooling (pyiqa)
            k, s, p = layer.filter.shape[2], layer.stride, layer.padding

            def l2pool(x: Any, layer: Any = layer) -> Any:
                out = F.conv2d(x**2, layer.filter, stride=layer.stride, padding=(0, layer.padding), groups=x.shape[1])
                return (out + 1e-12).sqrt()

            steps.append(_Step(l2pool, k, s, p, height))
        else:
            raise ValueError(f"row streaming does not support {type(layer).__name__}")
        height = steps[-1].out_height
    return steps, height


def stream_trunk(image: Any, prepare: Callable[[Any], Any], stages: Sequence[Any],
                 emit: Callable[[int, Any], None], rows: int) -> None:
    """Run ``stages`` (Sequentials whose outputs are the compared features) on ``image`` (1x3xHxW) in
    bands of ``rows`` input rows; ``prepare`` is applied to each band first (an elementwise input
    normalisation). ``emit(stage_index, band)`` receives every stage's output rows in order, once each
    (bands of no rows are not emitted); the sequence depends only on the image size and ``rows``, so a
    second image of the same size is emitted in the same bands."""
    height = image.shape[2]
    plan: list[list[_Step]] = []
    for stage in stages:
        steps, height_out = _steps(stage, height)
        plan.append(steps)
        height = height_out
    for start in range(0, image.shape[2], rows):
        last = start + rows >= image.shape[2]
        band = prepare(image[:, :, start:start + rows])
        for index, steps in enumerate(plan):
            for step in steps:
                band = step.push(band, last)
            if band is not None:
                emit(index, band)
    for steps in plan:
        if steps and steps[-1].next_out != steps[-1].out_height:
            raise RuntimeError("row streaming ended before the last output row (a bug)")


class FeatureSpool:
    """An append-only sequence of float32 tensors in an unlinked temporary file, read back in order."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile(prefix="harness-features-")  # lives as long as the spool
        self._entries: list[tuple[int, tuple[int, ...]]] = []
        self._end = 0
        self._cursor = 0

    def append(self, tensor: Any) -> None:
        data = tensor.detach().cpu().contiguous().numpy().astype(np.float32, copy=False)
        view = memoryview(data.reshape(-1)).cast("B")
        done = 0
        while done < data.nbytes:
            done += os.pwrite(self._file.fileno(), view[done:], self._end + done)
        self._entries.append((self._end, tuple(data.shape)))
        self._end += data.nbytes

    def rewind(self) -> None:
        self._cursor = 0

    def next(self, device: Any = "cpu") -> Any:
        """The next tensor written, on ``device``."""
        import torch

        offset, shape = self._entries[self._cursor]
        self._cursor += 1
        out = np.empty(shape, dtype=np.float32)
        view = memoryview(out.reshape(-1).data).cast("B")
        done = 0
        while done < out.nbytes:
            done += os.preadv(self._file.fileno(), [view[done:]], offset + done)
        return torch.from_numpy(out).to(device)

    @property
    def nbytes(self) -> int:
        return self._end

    def close(self) -> None:
        self._file.close()
