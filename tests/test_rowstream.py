"""Row streaming of convolutional trunks: every layer's output rows, band by band, equal the full-image
forward pass, for the layer geometries of AlexNet, VGG16 and DISTS (strides, paddings, poolings)."""

from __future__ import annotations

import pytest


def _trunk():
    import torch
    from torch import nn

    from harness.core.torchsetup import prepare_torch

    prepare_torch()
    from pyiqa.archs.dists_arch import L2pooling

    torch.manual_seed(0)
    stages = [
        nn.Sequential(nn.Conv2d(3, 8, 11, stride=4, padding=2), nn.ReLU(inplace=True)),  # AlexNet conv1
        nn.Sequential(nn.MaxPool2d(3, 2), nn.Conv2d(8, 8, 5, padding=2), nn.ReLU(inplace=True)),
        nn.Sequential(nn.Conv2d(8, 6, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2, 2)),  # VGG
        nn.Sequential(L2pooling(channels=6), nn.Conv2d(6, 4, 3, padding=1), nn.ReLU(inplace=True)),  # DISTS
    ]
    return [stage.eval() for stage in stages]


@pytest.mark.parametrize("height,width,rows", [(97, 61, 7), (97, 61, 16), (64, 50, 1000), (150, 33, 23)])
def test_streamed_bands_equal_the_full_forward_pass(height, width, rows):
    import torch

    from harness.metrics.rowstream import stream_trunk

    stages = _trunk()
    image = torch.rand(1, 3, height, width)
    with torch.inference_mode():
        expected, h = [], image
        for stage in stages:
            h = stage(h)
            expected.append(h)
        bands: list[list[torch.Tensor]] = [[] for _ in stages]
        stream_trunk(image, lambda band: band * 1.0, stages, lambda k, band: bands[k].append(band.clone()), rows)
    for k, want in enumerate(expected):
        got = torch.cat(bands[k], dim=2)
        assert got.shape == want.shape, k
        assert torch.allclose(got, want, atol=1e-5, rtol=1e-5), (k, float((got - want).abs().max()))


def test_feature_spool_reads_back_what_was_written():
    import torch

    from harness.metrics.rowstream import FeatureSpool

    spool = FeatureSpool()
    tensors = [torch.rand(1, 4, n, 9) for n in (3, 0, 5)]
    for t in tensors:
        spool.append(t)
    assert spool.nbytes == sum(t.numel() * 4 for t in tensors)
    for _ in range(2):
        spool.rewind()
        for t in tensors:
            assert torch.equal(spool.next(), t)
    spool.close()
