"""BD-rate / BD-quality: equality with FAU's reference package, analytic cases, directions, diagnostics."""

from __future__ import annotations

import warnings

import bjontegaard
import numpy as np
import pytest

from harness.analysis import bdrate

# The three examples FAU ships with the package (README and example_usage.py), rates in kbit/s.
FAU_EXAMPLES = {
    "test1": ([9487.76, 4593.60, 2486.44, 1358.24], [40.037, 38.615, 36.845, 34.851],
              [9787.80, 4469.00, 2451.52, 1356.24], [40.121, 38.651, 36.970, 34.987]),
    "test2-high-rates": ([82472.76, 26875.24, 9487.76, 4593.6], [43.825, 41.404, 40.037, 38.615],
                         [99896.96, 33952.04, 9787.8, 4469.0], [44.731, 41.875, 40.121, 38.651]),
    "test3-six-points": ([82472.76, 26875.24, 9487.76, 4593.6, 3600, 2900], [43.825, 41.404, 40.037, 38.615, 36.5, 35.1],
                         [99896.96, 33952.04, 9787.8, 4469.0, 4040, 3300], [44.731, 41.875, 40.121, 38.651, 37, 36.5]),
}


def fau(kind: str, ra, qa, rt, qt, method: str) -> float:
    fn = bjontegaard.bd_rate if kind == "rate" else bjontegaard.bd_psnr
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(fn(np.asarray(ra), np.asarray(qa), np.asarray(rt), np.asarray(qt), method=method,
                        require_matching_points=False))


@pytest.mark.parametrize("method", bdrate.METHODS)
@pytest.mark.parametrize("example", sorted(FAU_EXAMPLES))
def test_equals_fau_package_on_its_examples(example, method):
    ra, qa, rt, qt = FAU_EXAMPLES[example]
    ours_rate = bdrate.bd_rate(ra, qa, rt, qt, method, min_overlap=0)
    ours_quality = bdrate.bd_quality(ra, qa, rt, qt, method, min_overlap=0)
    assert ours_rate.ok and ours_quality.ok
    assert abs(ours_rate.value - fau("rate", ra, qa, rt, qt, method)) < 1e-6
    assert abs(ours_quality.value - fau("quality", ra, qa, rt, qt, method)) < 1e-6
    # Input order is irrelevant (FAU needs monotone input; we sort).
    shuffled = bdrate.bd_rate(ra[::-1], qa[::-1], [rt[i] for i in (2, 0, 3, 1, *range(4, len(rt)))],
                              [qt[i] for i in (2, 0, 3, 1, *range(4, len(qt)))], method, min_overlap=0)
    assert abs(shuffled.value - ours_rate.value) < 1e-9


def test_fau_examples_known_values():
    # Pin the numbers themselves (as printed by FAU's example script), not only the agreement.
    ra, qa, rt, qt = FAU_EXAMPLES["test1"]
    assert bdrate.bd_rate(ra, qa, rt, qt, "akima").value == pytest.approx(-4.4252, abs=1e-4)
    assert bdrate.bd_rate(ra, qa, rt, qt, "pchip").value == pytest.approx(-4.4175, abs=1e-4)
    ra, qa, rt, qt = FAU_EXAMPLES["test3-six-points"]
    assert bdrate.bd_rate(ra, qa, rt, qt, "akima").value == pytest.approx(-2.5269, abs=1e-4)


@pytest.mark.parametrize("method", bdrate.METHODS)
@pytest.mark.parametrize("k", [0.5, 0.8, 1.25, 2.0])
def test_rate_scaled_by_constant_gives_exactly_that_factor(method, k):
    # A realistic concave RD curve; the test codec needs k times the bits at every quality.
    rate = np.array([0.1, 0.25, 0.5, 1.0, 2.0])
    psnr = 30 + 6 * np.log2(rate) - 0.4 * np.log2(rate) ** 2
    result = bdrate.bd_rate(rate, psnr, k * rate, psnr, method)
    assert result.value == pytest.approx((k - 1) * 100, abs=1e-9)
    assert result.overlap == 1.0 and result.monotonic


@pytest.mark.parametrize("method", ["pchip", "akima", "cubic"])
def test_linear_in_log_rate_curves_analytic_bd_rate_and_bd_psnr(method):
    # Q = a + b*log10(R) is reproduced exactly by every method, so BD is analytic even when the two
    # codecs are sampled at different rates: rate factor k <=> quality offset b*log10(k).
    a, b, k = 35.0, 12.0, 0.7
    ra = np.array([0.12, 0.3, 0.55, 1.1, 2.4])
    rt = np.array([0.09, 0.2, 0.47, 0.8, 1.3, 1.9])
    qa = a + b * np.log10(ra)
    qt = a + b * np.log10(rt / k)  # the test reaches anchor quality with k times the rate
    assert bdrate.bd_rate(ra, qa, rt, qt, method).value == pytest.approx((k - 1) * 100, abs=1e-9)
    assert bdrate.bd_quality(ra, qa, rt, qt, method).value == pytest.approx(-b * np.log10(k), abs=1e-9)


def test_bd_psnr_constant_offset():
    rate = np.array([0.1, 0.3, 0.7, 1.5])
    psnr = np.array([27.1, 30.4, 33.0, 36.2])
    result = bdrate.bd_quality(rate, psnr, rate, psnr + 0.75, "pchip")
    assert result.value == pytest.approx(0.75, abs=1e-12) and result.better


def test_lower_is_better_metric():
    # An LPIPS-like distortion that falls with rate. The test codec reaches each distortion with 20 % fewer
    # bits: BD-rate -20 %, and at equal rate its LPIPS is lower, i.e. a negative delta that counts as better.
    rate = np.array([0.1, 0.2, 0.4, 0.8, 1.6])
    lpips = 0.5 * np.exp(-1.3 * np.log2(rate / 0.1) / 2)
    r = bdrate.bd_rate(rate, lpips, 0.8 * rate, lpips, "pchip", higher_is_better=False)
    assert r.value == pytest.approx(-20.0, abs=1e-9) and r.better and r.monotonic
    q = bdrate.bd_quality(rate, lpips, 0.8 * rate, lpips, "pchip", higher_is_better=False)
    assert q.value < 0 and q.better and q.monotonic
    # The same curves with the direction wrong are flagged non-monotonic (rate would fall with quality).
    assert not bdrate.bd_rate(rate, lpips, 0.8 * rate, lpips, "pchip", higher_is_better=True).monotonic
    # And equal FAU's numbers: no sign trick, the same integral. (FAU asserts on this input in rate order,
    # since it only flips curves whose both coordinates fall; it accepts it sorted by LPIPS.)
    up = np.argsort(lpips)
    assert r.value == pytest.approx(fau("rate", rate[up], lpips[up], 0.8 * rate[up], lpips[up], "pchip"), abs=1e-9)
    assert q.value == pytest.approx(fau("quality", rate, lpips, 0.8 * rate, lpips, "pchip"), abs=1e-9)


def test_ms_ssim_in_db_is_the_transform_of_the_values():
    rate = np.array([0.1, 0.25, 0.5, 1.0])
    ms = np.array([0.90, 0.95, 0.975, 0.988])
    ms_t = np.array([0.92, 0.955, 0.978, 0.99])
    ours = bdrate.bd_rate(rate, ms, rate * 1.1, ms_t, "akima", transform="db")

    def db(x):
        return -10 * np.log10(1 - x)

    assert ours.value == pytest.approx(fau("rate", rate, db(ms), rate * 1.1, db(ms_t), "akima"), abs=1e-9)
    assert bdrate.default_transform("ms_ssim_rgb") == "db" and bdrate.default_transform("psnr_rgb") == "identity"


def test_insufficient_overlap_is_missing_with_reason():
    ra = np.array([0.1, 0.2, 0.4, 0.8])
    qa = np.array([25.0, 28.0, 31.0, 34.0])
    rt = np.array([1.0, 2.0, 4.0, 8.0])
    qt = np.array([33.0, 37.0, 41.0, 45.0])  # shares 1 dB of a 20 dB union
    result = bdrate.bd_rate(ra, qa, rt, qt, "pchip")
    assert result.value is None and not result.ok
    assert "overlap" in result.reason and result.overlap == pytest.approx(1 / 20)
    disjoint = bdrate.bd_quality(ra, qa, rt, qt, "pchip")
    assert disjoint.value is None and "do not overlap" in disjoint.reason
    # The threshold is a parameter: with none, the value is computed over the shared 1 dB.
    assert bdrate.bd_rate(ra, qa, rt, qt, "pchip", min_overlap=0).ok


def test_too_few_points_and_non_finite_points():
    rate = [0.1, 0.2, 0.4]
    psnr = [28.0, 31.0, 34.0]
    cubic = bdrate.bd_rate(rate, psnr, rate, psnr, "cubic")
    assert cubic.value is None and "needs at least 4" in cubic.reason
    # PSNR = inf (identical image) and failed rates are dropped, with a note, not integrated.
    r = bdrate.bd_rate(rate + [1.0], psnr + [np.inf], [0.11, 0.22, 0.44, 0.0], [28.0, 31.0, 34.0, 40.0], "pchip")
    assert r.ok and r.n_anchor == 3 and r.n_test == 3
    assert any("non-finite" in n for n in r.notes) and any("rate <= 0" in n for n in r.notes)
    assert r.value == pytest.approx(10.0, abs=1e-9)


def test_non_monotonic_curve_is_flagged_and_still_matches_fau():
    ra = np.array([0.1, 0.2, 0.4, 0.8])
    qa = np.array([26.0, 29.0, 28.5, 34.0])  # a dip: more bits, less quality
    rt = ra * 0.9
    qt = np.array([26.0, 29.0, 31.0, 34.0])
    q = bdrate.bd_quality(ra, qa, rt, qt, "pchip")
    assert q.ok and not q.anchor_monotonic and q.test_monotonic and not q.monotonic
    assert q.value == pytest.approx(fau("quality", ra, qa, rt, qt, "pchip"), abs=1e-9)


def test_rate_at_quality_inverts_a_curve_without_extrapolating():
    rate = np.array([0.1, 0.2, 0.4, 0.8])
    psnr = 30 + 10 * np.log10(rate / 0.1)
    got = bdrate.rate_at_quality(rate, psnr, [30.0, 31.5, psnr[2], 45.0], "pchip")
    assert got[0] == pytest.approx(0.1) and got[2] == pytest.approx(0.4)
    assert got[1] == pytest.approx(0.1 * 10 ** 0.15)
    assert np.isnan(got[3])


def test_bad_input_is_one_line_error():
    with pytest.raises(bdrate.BDError, match="unknown BD interpolation method 'linear'"):
        bdrate.bd_rate([1, 2], [3, 4], [1, 2], [3, 4], "linear")
    with pytest.raises(bdrate.BDError, match="3 rate points but 2 quality points"):
        bdrate.bd_rate([1, 2, 3], [3, 4], [1, 2], [3, 4])


def test_quality_at_rate_reads_the_curve_at_exactly_that_rate():
    rates = np.array([0.1, 0.2, 0.4, 0.8])
    psnr = 30 + 6 * np.log2(rates / 0.1)  # +6 dB per doubling: linear in log rate, so pchip is exact
    assert bdrate.quality_at_rate(rates, psnr, 0.3) == pytest.approx(30 + 6 * np.log2(3), abs=1e-12)
    assert bdrate.quality_at_rate(rates, psnr, 0.2) == 36.0  # a measured point is returned as measured
    assert bdrate.quality_at_rate(rates, psnr, 0.9) is None  # never extrapolated
    assert bdrate.quality_at_rate(rates[:1], psnr[:1], 0.1) == 30.0
    assert bdrate.quality_at_rate(rates[:1], psnr[:1], 0.15) is None
