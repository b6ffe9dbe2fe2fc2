"""Rows of an earlier harness (schema 2 and older, no codec identity) taken over by a resumed run when
their recorded parameters equal the codec's current configuration; the others stay an older build."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from harness.codecs import CodecError, Contender, get_codec
from harness.codecs.identity import CodecIdentity
from harness.run.jobs import EncodeJob
from harness.run.migrate import v2_key
from harness.run.rows import Row
from harness.run.store import RunStore

# Params a row records that are not the encoder's configuration.
_RUN_PARAMS = ("input_notes", "padded_to", "rate_search")


def _comparable(params: dict[str, Any] | None) -> Any:
    if params is None:
        return None
    return json.loads(json.dumps({k: v for k, v in params.items() if k not in _RUN_PARAMS}, sort_keys=True,
                                 default=str))


def _options_then(label: str) -> tuple[tuple[str, str], ...] | None:
    """The options the row's codec string named, resolved with today's defaults (what it asked for)."""
    try:
        return get_codec(label).identity.options
    except CodecError:
        return None


def same_configuration(row: Row, job: EncodeJob, codec: Contender) -> bool:
    """Whether the legacy ``row`` is what ``job`` would make: same build, same key of its time, the same
    options asked for, the same colour chain and the same encoder parameters."""
    if row.codec_name != job.codec.name or row.codec_version != job.codec.version or row.point is None:
        return False
    if row.job_key != v2_key(job.image_sha256, job.image, row.codec, row.codec_version or "", job.point,
                              job.target_bpp, job.tolerance):
        return False
    if _options_then(row.codec) != job.codec.options:
        return False
    if any(getattr(row, k) != v for k, v in codec.colour.as_columns().items()):
        return False
    size = (row.padded_height or row.height, row.padded_width or row.width)
    if size[0] is None or size[1] is None or not row.params:
        return False
    try:
        expected = codec.recorded_params(row.point, (int(size[0]), int(size[1])))
    except Exception:  # noqa: BLE001 - the adapter cannot say here (program missing): not adopted
        return False
    return expected is not None and _comparable(json.loads(row.params)) == _comparable(expected)


def adopt_legacy_rows(store: RunStore, jobs: Sequence[EncodeJob], codecs: Sequence[Contender]) -> int:
    """Give each job without a row the legacy row made with its exact configuration, under the job's key
    (the journal is rewritten once); returns how many rows were adopted."""
    finished = store.finished()
    legacy: dict[tuple[Any, ...], list[Row]] = {}
    for row in finished.values():
        if row.codec_config is None and row.ok:
            legacy.setdefault((row.image_sha256, row.image, row.target_bpp,
                               row.point if row.target_bpp is None else None), []).append(row)
    if not legacy:
        return 0
    by_identity: dict[CodecIdentity, Contender] = {c.identity: c for c in codecs}
    adopted: dict[str, Row] = {}  # legacy key -> the row under its new key
    for job in jobs:
        codec = by_identity.get(job.codec)
        if job.key in finished or codec is None:
            continue
        for row in legacy.get((job.image_sha256, job.image, job.target_bpp, job.point), []):
            if row.job_key not in adopted and same_configuration(row, job, codec):
                adopted[row.job_key] = row.copy(
                    job_key=job.key, codec=job.codec.label, codec_options=job.codec.options_json(),
                    codec_config=job.codec.digest)
                break
    if adopted:
        store.rewrite(adopted.get(row.job_key, row) for row in store.rows())
    return len(adopted)
