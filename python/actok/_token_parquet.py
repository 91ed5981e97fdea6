"""The token Parquet file of ``actok encode``: written in task order, decoded row group by row
group (the columns are described in ``_bulk``)."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ._actok import LoadError
from ._bulk import META_KEY, Job, Plan, _arrow, _parquet
from ._bulk_engines import execute
from ._clipping import warn_clipped
from ._tokenizer import FastTokenizer


def write(
    job: Job,
    plan_: Plan,
    output: Path,
    metadata: dict[str, Any],
    *,
    engine: str,
    workers: int,
    ray_address: str | None,
    progress: Callable[[str, int, int], None] | None,
) -> tuple[int, int]:
    """Writes the tasks' tables to ``output`` in task order; returns ``(chunks, tokens)``."""
    pa, pq = _arrow(), _parquet()
    schema = pa.schema(
        [
            ("episode_index", pa.int64()),
            ("start_frame", pa.int64()),
            ("ids", pa.list_(pa.int32())),
            ("length", pa.int32()),
        ],
        metadata={META_KEY: json.dumps(metadata).encode()},
    )
    chunks = tokens = done = 0
    counts: list[int] = []
    total = 0
    with (
        _replaced_on_success(output) as partial,
        open(partial, "wb") as sink,
        pq.ParquetWriter(sink, schema) as writer,
    ):
        if progress:
            progress("frames", 0, plan_.frames)
        for task, (table, c, t) in execute(
            job, plan_.tasks, engine=engine, workers=workers, ray_address=ray_address
        ):
            writer.write_table(table.cast(schema), row_group_size=max(1, table.num_rows))
            chunks += table.num_rows
            tokens += int(np.sum(table.column("length").to_numpy())) if table.num_rows else 0
            counts = [a + b for a, b in zip(counts or [0] * len(c), c)] if c else counts
            total += t
            done += task.frames
            if progress:
                progress("frames", done, plan_.frames)
    if counts:
        warn_clipped(counts, total, "encode", stacklevel=2)
    return chunks, tokens


def read_metadata(path: Path) -> tuple[Any, dict[str, Any]]:
    """The parquet file of ``actok encode`` and its ``actok`` metadata."""
    pq = _parquet()
    try:
        pf = pq.ParquetFile(path)
    except (OSError, _arrow().ArrowException) as err:
        raise LoadError(f"cannot read {path}: {err}") from None
    raw = (pf.schema_arrow.metadata or {}).get(META_KEY)
    if raw is None or "ids" not in pf.schema_arrow.names:
        raise LoadError(f"{path} is not a token file written by `actok encode` (no actok metadata)")
    return pf, json.loads(raw)


def decode_parquet(
    tokenizer: FastTokenizer, path: Path, output: Path, on_error: str
) -> tuple[int, int, int, int, dict[str, Any]]:
    """Decodes a token parquet file row group by row group into an ``(N, H, D)`` float64 .npy
    written in place (memory-mapped); returns ``(N, H, D, malformed, metadata)``."""
    pf, meta = read_metadata(path)
    h, d = int(meta["time_horizon"]), int(meta["action_dim"])
    n = pf.metadata.num_rows
    with _replaced_on_success(output) as partial:
        bad = _decode_into(tokenizer, pf, partial, (n, h, d), on_error, path)
    return n, h, d, bad, meta


def _decode_into(
    tokenizer: FastTokenizer,
    pf: Any,
    output: Path,
    shape: tuple[int, int, int],
    on_error: str,
    path: Path,
) -> int:
    n, h, d = shape
    out = np.lib.format.open_memmap(os.fspath(output), mode="w+", dtype=np.float64, shape=shape)
    row = bad = 0
    for rg in range(pf.num_row_groups):
        column = pf.read_row_group(rg, columns=["ids"]).column(0).combine_chunks()
        if column.null_count:
            raise LoadError(f"{path}: row group {rg} has null ids")
        offsets = np.asarray(column.offsets.to_numpy(), dtype=np.int64)
        values = np.asarray(column.values.to_numpy(zero_copy_only=False))
        values = values[offsets[0] : offsets[-1]]
        lengths = np.diff(offsets)
        k = len(lengths)
        width = int(lengths.max()) if k else 0
        padded = np.zeros((k, width), dtype=np.int64)
        padded[np.arange(width) < lengths[:, None]] = values
        actions, valid = tokenizer.decode(
            (padded, lengths), time_horizon=h, action_dim=d, on_error=on_error, return_valid=True
        )
        out[row : row + k] = actions
        bad += int(k - np.count_nonzero(valid))
        row += k
    out.flush()
    del out
    return bad


@contextlib.contextmanager
def _replaced_on_success(output: Path) -> Iterator[Path]:
    """A temporary path beside ``output`` that becomes ``output`` only when the block succeeds:
    a failed encode or decode leaves no valid-looking file with part of the rows."""
    partial = output.with_name(f".{output.name}.partial")
    try:
        yield partial
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, output)
