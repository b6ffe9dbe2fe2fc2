"""The detail metric on constructed cases whose answer is known: a blur removes detail without inventing
any, added noise invents detail without removing any, and a texture replaced by another texture of the
same energy keeps the amount of detail while none of it is the original's."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from harness.core.images import load_image
from harness.metrics import MetricError, get_metric
from harness.metrics.detail import detail_bands, detail_map, detail_scores
from tests.conftest import KODAK

REGION = (slice(64, 192), slice(64, 192))


@pytest.fixture(scope="module")
def texture() -> np.ndarray:
    """A textured 256x256 Kodak crop (kodim13: mountains, water, rocks)."""
    return load_image(KODAK / "kodim13.png").pixels[:256, :256].copy()


def to_uint8(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def blurred(image: np.ndarray, sigma: float) -> np.ndarray:
    return to_uint8(ndimage.gaussian_filter(image.astype(float), (sigma, sigma, 0)))


def with_noise(image: np.ndarray, sigma: float) -> np.ndarray:
    return to_uint8(image + np.random.default_rng(0).normal(0, sigma, image.shape))


def texture_replaced(image: np.ndarray) -> np.ndarray:
    """Inside REGION, the detail (image minus its sigma-8 blur) of a different photograph (kodim08, a
    facade), scaled to the same energy as the original's detail there, on the original's smooth base."""
    other = load_image(KODAK / "kodim08.png").pixels[:256, :256].astype(float)
    base = ndimage.gaussian_filter(image.astype(float), (8, 8, 0))
    own = image - base
    foreign = other - ndimage.gaussian_filter(other, (8, 8, 0))
    scale = np.sqrt((own[REGION] ** 2).mean() / (foreign[REGION] ** 2).mean())
    out = image.astype(float)
    out[REGION] = base[REGION] + foreign[REGION] * scale
    return to_uint8(out)


def test_identical_keeps_everything_and_invents_nothing(texture):
    scores = detail_scores(texture, texture)
    assert scores == pytest.approx({"detail_kept": 1.0, "detail_invented": 0.0, "detail_energy": 1.0,
                                    "detail_correlation": 1.0}, abs=1e-9)


def test_blur_removes_detail_and_invents_none(texture):
    scores = detail_scores(texture, blurred(texture, 1.5))
    assert scores["detail_kept"] < 0.55
    assert scores["detail_energy"] < 0.55
    assert scores["detail_invented"] < 0.05
    assert scores["detail_correlation"] > 0.75  # what is left is the original's
    per_band = detail_bands(texture, blurred(texture, 1.5))
    assert per_band[0]["kept"] < per_band[1]["kept"] < per_band[3]["kept"]  # finest band hit hardest
    assert detail_map(texture, blurred(texture, 1.5), "lost").mean() > 0.5
    stronger = detail_scores(texture, blurred(texture, 3.0))
    assert stronger["detail_kept"] < scores["detail_kept"]


def test_added_noise_invents_detail_and_keeps_the_original(texture):
    scores = detail_scores(texture, with_noise(texture, 8.0))
    assert scores["detail_kept"] > 0.95
    assert scores["detail_energy"] > 1.03
    assert scores["detail_invented"] > 0.05
    blur = detail_scores(texture, blurred(texture, 1.5))
    assert scores["detail_invented"] > 2 * blur["detail_invented"]
    louder = detail_scores(texture, with_noise(texture, 16.0))
    assert louder["detail_invented"] > 2 * scores["detail_invented"]


def test_replaced_texture_keeps_energy_but_is_invented(texture):
    replaced = texture_replaced(texture)
    inside = detail_scores(texture[REGION], replaced[REGION])
    assert 0.75 < inside["detail_energy"] < 1.25  # as much detail as before ...
    assert inside["detail_invented"] > 0.6  # ... but it is not the original's
    assert inside["detail_kept"] < 0.3
    assert abs(inside["detail_correlation"]) < 0.3
    invented = detail_map(texture, replaced, "invented")
    assert invented.shape == texture.shape[:2] and invented.dtype == np.float32
    assert invented[80:176, 80:176].mean() > 0.75  # inside, away from the seams
    assert invented[:40, :40].mean() < 0.05 and invented[216:, 216:].mean() < 0.05  # untouched corners
    # A blur and a replacement of equal energy are told apart: opposite signs on energy, kept vs invented.
    blur = detail_scores(texture[REGION], blurred(texture, 1.5)[REGION])
    assert blur["detail_energy"] < 0.6 < inside["detail_energy"]
    assert blur["detail_invented"] < 0.1 < inside["detail_invented"]


def test_metric_class_and_errors(texture):
    metric = get_metric("detail")
    values = metric.compute(texture, texture, None)
    assert set(values) == {c.name for c in metric.columns}
    with pytest.raises(MetricError, match="differs"):
        metric.compute(texture, texture[:100], None)
    with pytest.raises(MetricError, match="flat"):
        metric.compute(np.full((32, 32, 3), 128, np.uint8), texture[:32, :32], None)
    with pytest.raises(MetricError, match="kind"):
        detail_map(texture, texture, "weird")
