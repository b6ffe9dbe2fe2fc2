"""compressai codec: CompressAI models coding real files (container, padding, fresh-process bit-exact decodes,
corrupt files), pretrained weights fetched from a local HTTP server with the published hash checked, and a
small model trained here on non-Kodak images run end to end through ``harness run``."""

from __future__ import annotations

import functools
import hashlib
import http.server
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from harness.codecs import CodecError, CodecUnavailable, get_codec
from harness.codecs.compressai_zoo import container
from harness.codecs.compressai_zoo.models import import_compressai
from harness.codecs.compressai_zoo.weights import WeightsError, fetch, published_hash
from harness.core.images import load_image
from tests.conftest import KODAK

REPO = Path(__file__).resolve().parents[1]
import_compressai()  # scripts/setup.sh installs compressai: a failure here is a failed test, not a skip


def skimage_photos(folder: Path) -> Path:
    """Three photographs that ship with scikit-image (none is a Kodak or CLIC image)."""
    import skimage

    folder.mkdir(parents=True, exist_ok=True)
    data = Path(skimage.__file__).parent / "data"
    for name in ("astronaut.png", "chelsea.png", "coffee.png"):
        (folder / name).write_bytes((data / name).read_bytes())
    return folder


@pytest.fixture(scope="module")
def untrained(tmp_path_factory) -> Path:
    """A real CompressAI hyperprior model with random weights and its entropy tables built."""
    import torch
    from compressai.models import ScaleHyperprior

    torch.manual_seed(0)
    net = ScaleHyperprior(16, 24).eval()
    net.update(force=True)
    path = tmp_path_factory.mktemp("cai") / "untrained.pt"
    torch.save({"arch": "bmshj2018-hyperprior", "state_dict": net.state_dict()}, path)
    return path


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / mse))


def decode_fresh(path: Path, out_png: Path, checkpoint: Path | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "harness.codecs.compressai_zoo.decode_cli", str(path), str(out_png)]
    if checkpoint:
        cmd += ["--checkpoint", str(checkpoint)]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=600, check=False)


def test_codec_strings() -> None:
    codec = get_codec("compressai:mbt2018-mean:quality=3:metric=ms-ssim")
    assert codec.options == {"arch": "mbt2018-mean", "quality": "3", "metric": "ms-ssim"}
    assert codec.label == "compressai:mbt2018-mean:metric=ms-ssim:quality=3"
    assert get_codec(codec.label).label == codec.label
    assert codec.points_for("x") == [3]
    assert get_codec("compressai:cheng2020-attn").points_for("x") == [1, 2, 3, 4, 5, 6]
    with pytest.raises(CodecError, match="unknown architecture 'nope'"):
        get_codec("compressai:nope")
    with pytest.raises(CodecError, match="quality must be 1..6"):
        get_codec("compressai:cheng2020-anchor:quality=7")
    with pytest.raises(CodecError, match="metric must be one of"):
        get_codec("compressai:mbt2018:metric=lpips")
    assert not get_codec("compressai").availability()


def test_container_round_trip_and_corruption() -> None:
    c = container.Container("mbt2018", "ms-ssim", 4, bytes(range(8)), 767, 511, (8, 12),
                            [[b"abc"], [b"", b"\x00\x01"]])
    data = container.pack(c)
    assert data[:4] == b"HCAI" and container.unpack(data) == c
    flipped = bytearray(data)
    flipped[20] ^= 1
    for bad, message in ((bytes(flipped), "CRC mismatch"), (data[:-7], "CRC mismatch"),
                         (b"PTCH" + data[4:], "no HCAI magic"), (data[:10], "truncated")):
        with pytest.raises(container.ContainerError, match=message):
            container.unpack(bad)


def test_odd_sizes_pad_crop_and_decode_bit_exact_in_fresh_process(untrained: Path, tmp_path: Path) -> None:
    # Random weights code badly (the harness would reject the image as implausible), but the bytes are real
    # CompressAI rANS strings: the point here is the file, the padding and the bit-exact decode.
    codec = get_codec(f"compressai:checkpoint={untrained}")
    assert codec.availability(), codec.availability().reason
    rgb = load_image(KODAK / "kodim23.png").pixels[:77, :131]
    data = codec.encode(rgb, 0).data
    decoded = codec.decode(data)
    assert decoded.shape == rgb.shape and decoded.dtype == np.uint8
    header = container.unpack(data)
    assert (header.arch, header.weights, header.quality, header.width, header.height) == (
        "bmshj2018-hyperprior", "checkpoint", 0, 131, 77)
    assert codec.encode(rgb, 0).data == data  # deterministic encoder
    path = tmp_path / "crop.hcai"
    path.write_bytes(data)
    proc = decode_fresh(path, tmp_path / "out.png", untrained)
    assert proc.returncode == 0, proc.stderr
    assert np.array_equal(load_image(tmp_path / "out.png").pixels, decoded)
    with pytest.raises(CodecError, match="one operating point"):
        codec.encode(rgb, 3)

    no_model = decode_fresh(path, tmp_path / "x.png")
    assert no_model.returncode == 1
    assert "give that checkpoint to decode it" in no_model.stderr and "Traceback" not in no_model.stderr
    path.write_bytes(data[:-9])
    broken = decode_fresh(path, tmp_path / "x.png", untrained)
    assert broken.returncode == 1 and broken.stderr.strip().count("\n") == 0
    assert "corrupt or truncated" in broken.stderr
    with pytest.raises(CodecError, match="corrupt or truncated"):
        codec.decode(data[:-9])


# --- pretrained weights from a local server -----------------------------------------------------------------
@pytest.fixture()
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "served"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None  # type: ignore[assignment]
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", root
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_weights_download_checked_and_cached(server, untrained: Path, tmp_path: Path) -> None:
    url, root = server
    data = untrained.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    name = f"small-{digest[:8]}.pth.tar"
    (root / name).write_bytes(data)
    assert published_hash(name) == digest[:8]
    cache = tmp_path / "cache"
    got = fetch(f"{url}/{name}", digest[:8], cache)
    assert got == cache / name and got.read_bytes() == data
    (root / name).unlink()  # the second use is served from the cache, without the network
    assert fetch(f"{url}/{name}", digest[:8], cache) == got

    (root / "other-00000000.pth.tar").write_bytes(data)
    with pytest.raises(WeightsError, match="not the published 00000000; not kept"):
        fetch(f"{url}/other-00000000.pth.tar", "00000000", cache)
    assert sorted(p.name for p in cache.iterdir()) == [name]


def test_zoo_model_rejects_wrong_file_and_names_missing_one(server, untrained: Path, tmp_path: Path,
                                                            monkeypatch) -> None:
    from harness.codecs.compressai_zoo.models import load_zoo

    url, root = server
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HARNESS_COMPRESSAI_URL", url)
    load_zoo.cache_clear()
    rgb = load_image(KODAK / "kodim05.png").pixels[:64, :64]
    published = "bmshj2018-factorized-prior-2-87279a02.pth.tar"  # CompressAI's name for this model
    (root / published).write_bytes(untrained.read_bytes())  # served under that name, but not that file
    codec = get_codec("compressai:bmshj2018-factorized")
    with pytest.raises(CodecUnavailable, match="not the published 87279a02; not kept"):
        codec.encode(rgb, 2)
    assert not (tmp_path / "cache" / "compressai" / published).exists()

    monkeypatch.setenv("HARNESS_COMPRESSAI_URL", "http://127.0.0.1:9")  # nothing listens: offline
    with pytest.raises(CodecUnavailable) as offline:
        codec.encode(rgb, 2)
    message = str(offline.value)
    assert "\n" not in message and published in message
    assert "put the file there" in message and str(tmp_path / "cache" / "compressai") in message


# --- a small model trained here, through `harness run` --------------------------------------------------------
@pytest.mark.slow
def test_small_trained_model_through_harness_run(tmp_path: Path) -> None:
    from harness.run.store import read_results
    from harness.training.compressai import (
        SmallTraining,
        load_images,
        train_model,
    )

    settings = SmallTraining(n=32, m=48, steps=300, lmbda=0.01, crop=64, batch=4, lr=1e-3)
    model = train_model(load_images([str(skimage_photos(tmp_path / "photos"))], 64), tmp_path / "small.pt",
                        settings)
    images = tmp_path / "images"
    images.mkdir()
    for name in ("kodim05", "kodim23"):  # test images: never seen in training
        (images / f"{name}.png").write_bytes((KODAK / f"{name}.png").read_bytes())
    spec = f"compressai:checkpoint={model}"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-m", "harness.cli", "run", "--codecs", spec, "--dataset", str(images),
                             "--results", str(tmp_path / "results"), "--keep-reconstructions"],
                            capture_output=True, text=True, cwd=REPO, env=env, timeout=900, check=False)
    assert result.returncode == 0, result.stderr
    rows = read_results(tmp_path / "results" / "images")
    assert len(rows) == 2 and (rows["codec"] == spec).all(), rows
    # 300 steps on three photographs: a weak but working coder (about 0.3-0.5 bpp at 19-22 dB on these).
    assert rows["bpp"].between(0.05, 1.5).all(), rows["bpp"]
    assert rows["psnr_rgb"].min() > 16.0, rows["psnr_rgb"]

    codec = get_codec(spec)
    for name in ("kodim05", "kodim23"):
        rgb = load_image(images / f"{name}.png").pixels
        stream = tmp_path / f"{name}.hcai"
        stream.write_bytes(codec.encode(rgb, 0).data)
        row = rows[rows["image"] == name].iloc[0]
        assert stream.stat().st_size * 8 / rgb.shape[0] / rgb.shape[1] == pytest.approx(row["bpp"])
        proc = decode_fresh(stream, tmp_path / f"{name}.png", model)
        assert proc.returncode == 0, proc.stderr
        kept = sorted((tmp_path / "results" / "images" / "reconstructions").rglob(f"{name}_*.png"))
        assert len(kept) == 1
        assert np.array_equal(load_image(tmp_path / f"{name}.png").pixels, load_image(kept[0]).pixels)
