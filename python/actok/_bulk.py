"""Dataset-scale ``actok encode``: a dataset streamed into a Parquet file of token ids.

The dataset is planned first (only the ``episode_index`` column is read, one row group at a
time), then cut into tasks of whole episodes of about ``frames_per_task`` frames. A task reads
only the row groups holding its episodes, so memory stays at a few tasks' worth whatever the
dataset's size. Tasks run in this process, in ``--workers`` processes or on a Ray cluster
(``_bulk_engines``) and their results are written in task order (``_token_parquet``), so the
output does not depend on where they ran.

Output columns: ``episode_index`` (int64), ``start_frame`` (int64: the ``frame_index`` of the
chunk's first step), ``ids`` (list<int32>) and ``length`` (int32); the schema's ``actok``
metadata (JSON) records the chunk shape and how the data was prepared.
"""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np

from ._actok import EncodeError, LoadError
from ._chunking import chunk_positions
from ._clipping import ClippingWarning
from ._extras import require
from ._prep import DataPrep, check_dims
from ._readers import Episodes, _action_matrix, read_episodes
from ._tokenizer import FastTokenizer

#: Float32 values of chunks a task holds at once (about 32 MB), which sets its frame count.
TASK_VALUES = 1 << 23
#: Parquet metadata key of the output.
META_KEY = b"actok"

# (episode index, actions (T, D_stored), states (T, S) or None, frame_index (T,) or None)
EpisodeData = tuple[int, np.ndarray, Optional[np.ndarray], Optional[np.ndarray]]


@dataclass(frozen=True)
class Job:
    """What every task needs; shipped once to each worker."""

    tokenizer: FastTokenizer
    prep: DataPrep
    key: str
    horizon: int
    stride: int
    pad: str
    on_overflow: str
    check_shape: bool
    sample_fraction: float | None
    threads: int | None = None


@dataclass(frozen=True)
class Task:
    """Whole episodes: rows ``spans`` of ``row_groups`` of a parquet ``file``, or in memory."""

    index: int
    frames: int
    file: str | None = None
    row_groups: tuple[int, ...] = ()
    first_row: int = 0  # the file row where row_groups[0] starts
    spans: tuple[tuple[int, int, int], ...] = ()  # (episode_index, first row, end row)
    episodes: tuple[EpisodeData, ...] = ()


@dataclass
class Plan:
    tasks: list[Task]
    frames: int
    episodes: int
    fps: float | None
    source: str


def frames_per_task(horizon: int, dim: int, stride: int) -> int:
    return max(64, TASK_VALUES // max(1, horizon * dim) * stride)


def plan(path: Path, job: Job, max_episodes: int | None, dim: int) -> Plan:
    """Tasks covering the dataset at ``path`` (a LeRobot directory, .npz or .npy)."""
    target = frames_per_task(job.horizon, dim, job.stride)
    if path.is_dir():
        return _plan_lerobot(path, job, max_episodes, target)
    state_key = job.prep.state_key if job.prep.delta_dims else None
    read = read_episodes(path, key=job.prep.key, state_key=state_key, max_episodes=max_episodes)
    index = read.episode_index or list(range(len(read)))
    states: list[np.ndarray | None] = (
        [None] * len(read) if read.states is None else list(read.states)
    )
    tasks: list[Task] = []
    batch: list[EpisodeData] = []
    frames = 0
    for e, actions, state in zip(index, read.episodes, states):
        batch.append((e, actions, state, None))
        frames += len(actions)
        if frames >= target:
            tasks.append(Task(len(tasks), frames, episodes=tuple(batch)))
            batch, frames = [], 0
    if batch:
        tasks.append(Task(len(tasks), frames, episodes=tuple(batch)))
    total = sum(read.lengths)
    return Plan(tasks, total, len(read), read.fps, read.source)


def dataset_dim(path: Path, key: str | None) -> tuple[int, float | None]:
    """The stored action dimension (and fps) of a dataset, reading as little as possible."""
    if not path.is_dir():
        read = read_episodes(path, key=key)
        return read.dim, read.fps
    pq = _parquet()
    files = _files(path)
    name = key or "action"
    pf = pq.ParquetFile(files[0])
    if name not in pf.schema_arrow.names:
        raise LoadError(
            f"{files[0]} has no column {name!r} (it has: {', '.join(pf.schema_arrow.names)})"
        )
    first = next(pf.iter_batches(batch_size=1, columns=[name]), None)
    if first is None or first.num_rows == 0:
        raise LoadError(f"{files[0]} holds no rows")
    matrix = _action_matrix(first.column(0), f"{files[0]}[{name!r}]", _arrow())
    return matrix.shape[1], _info(path).get("fps")


def _arrow() -> Any:
    return require("pyarrow", extra="lerobot", needed_for="reading LeRobot datasets")


def _parquet() -> Any:
    return require("pyarrow.parquet", extra="lerobot", needed_for="reading LeRobot datasets")


def _files(root: Path) -> list[Path]:
    data = root / "data"
    files = sorted(data.rglob("*.parquet")) if data.is_dir() else []
    if not files:
        raise LoadError(f"{root} is not a LeRobot dataset (no data/ folder of parquet files)")
    return files


def _info(root: Path) -> dict[str, Any]:
    try:
        info = json.loads((root / "meta" / "info.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def _plan_lerobot(root: Path, job: Job, max_episodes: int | None, target: int) -> Plan:
    pq = _parquet()
    files = _files(root)
    needed = [job.key, "episode_index"]
    if job.prep.delta_dims:
        needed.append(job.prep.state_key)
    # [file, episode, first row, end row] of each episode, in storage order
    spans: list[list[int]] = []
    where: dict[int, str] = {}
    for fi, f in enumerate(files):
        pf = pq.ParquetFile(f)
        for column in needed:
            if column not in pf.schema_arrow.names:
                raise LoadError(
                    f"{f} has no column {column!r} (it has: {', '.join(pf.schema_arrow.names)})"
                    + (": name it with --state-key" if column == job.prep.state_key else "")
                )
        row = 0
        for rg in range(pf.num_row_groups):
            ep = np.asarray(pf.read_row_group(rg, columns=["episode_index"]).column(0).to_numpy())
            bounds = np.flatnonzero(np.diff(ep)) + 1
            for a, b in zip([0, *bounds], [*bounds, len(ep)]):
                e = int(ep[a])
                last = spans[-1] if spans else None
                if last is not None and last[0] == fi and last[1] == e and last[3] == row + a:
                    last[3] = row + b
                    continue
                if e in where:
                    raise LoadError(
                        f"{root}: the rows of episode {e} are not stored together ({where[e]} and "
                        f"{f}, row group {rg}): the streaming encode reads episodes as LeRobot "
                        "writes them; rewrite the dataset sorted by episode_index"
                    )
                where[e] = f"{f}, row group {rg}"
                spans.append([fi, e, row + a, row + b])
            row += len(ep)
    if max_episodes is not None:
        keep = set(sorted(where)[: int(max_episodes)])
        spans = [s for s in spans if s[1] in keep]
    tasks: list[Task] = []
    group: list[list[int]] = []

    def flush() -> None:
        if not group:
            return
        f = files[group[0][0]]
        meta = pq.ParquetFile(f).metadata
        sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
        starts = np.concatenate([[0], np.cumsum(sizes)])
        first, end = group[0][2], group[-1][3]
        rgs = [i for i in range(len(sizes)) if starts[i] < end and starts[i + 1] > first]
        tasks.append(
            Task(
                len(tasks),
                end - first,
                file=str(f),
                row_groups=tuple(rgs),
                first_row=int(starts[rgs[0]]),
                spans=tuple((s[1], s[2], s[3]) for s in group),
            )
        )
        group.clear()

    for s in spans:
        if group and (s[0] != group[0][0] or s[3] - group[0][2] > target):
            flush()
        group.append(s)
    flush()
    fps = _info(root).get("fps")
    fps = float(fps) if isinstance(fps, (int, float)) and not isinstance(fps, bool) else None
    return Plan(tasks, sum(s[3] - s[2] for s in spans), len(spans), fps, str(root))


def _read_task(task: Task, job: Job) -> list[EpisodeData]:
    if task.file is None:
        return list(task.episodes)
    pq, pa = _parquet(), _arrow()
    pf = pq.ParquetFile(task.file)
    columns = [job.key, "episode_index"]
    has_frames = "frame_index" in pf.schema_arrow.names
    if has_frames:
        columns.append("frame_index")
    state_key = job.prep.state_key if job.prep.delta_dims else None
    if state_key is not None:
        columns.append(state_key)
    table = pf.read_row_groups(list(task.row_groups), columns=columns)
    lo, hi = task.spans[0][1] - task.first_row, task.spans[-1][2] - task.first_row
    table = table.slice(lo, hi - lo)
    where = f"{task.file}[{job.key!r}]"
    actions = _action_matrix(table.column(job.key), where, pa)
    states = (
        None
        if state_key is None
        else _action_matrix(table.column(state_key), f"{task.file}[{state_key!r}]", pa)
    )
    frames = np.asarray(table.column("frame_index").to_numpy()) if has_frames else None
    out: list[EpisodeData] = []
    for e, a, b in task.spans:
        a, b = a - task.first_row - lo, b - task.first_row - lo
        acts, st = actions[a:b], None if states is None else states[a:b]
        fr = np.arange(b - a, dtype=np.int64) if frames is None else frames[a:b].astype(np.int64)
        if np.any(np.diff(fr) <= 0):
            order = np.argsort(fr, kind="stable")
            fr, acts = fr[order], acts[order]
            st = None if st is None else st[order]
            if np.any(np.diff(fr) == 0):
                i = int(np.flatnonzero(np.diff(fr) == 0)[0])
                raise LoadError(f"{task.file}: episode {e} has frame_index {int(fr[i])} twice")
        out.append((e, acts, st, fr))
    return out


def run_task(job: Job, task: Task) -> tuple[Any, list[int], int]:
    """Encodes one task: ``(table, clipped per dimension, values normalized)``."""
    pa = _arrow()
    episodes = _read_task(task, job)
    dims = job.prep.dims
    if dims is not None and episodes:
        check_dims(dims, episodes[0][1].shape[1], f"the action ({job.key})")
    actions = [e[1] if dims is None else e[1][:, list(dims)] for e in episodes]
    ids_of = np.asarray([e[0] for e in episodes], dtype=np.int64)

    source = Episodes(
        episodes=actions,
        states=[e[2] for e in episodes] if job.prep.delta_dims else None,  # type: ignore[misc]
        dims=dims,
        episode_index=[int(i) for i in ids_of],
    )
    empty = np.zeros((0, job.horizon, len(dims) if dims else 1))
    if episodes:
        chunks, pos, start = chunk_positions(
            source,
            job.horizon,
            job.stride,
            job.pad,
            delta_dims=job.prep.delta_dims or None,
            sample_fraction=job.sample_fraction,
        )
    else:
        chunks, pos, start = empty, np.zeros(0, np.int64), np.zeros(0, np.int64)
    # The stored frame_index of each chunk's first step (its position when none is stored).
    frames = [np.arange(len(e[1])) if e[3] is None else e[3] for e in episodes]
    if frames:
        first = np.concatenate([[0], np.cumsum([len(f) for f in frames])[:-1]])
        start_frame = np.concatenate(frames).astype(np.int64)[first[pos] + start]
    else:
        start_frame = np.zeros(0, np.int64)
    counts: list[int] = []
    total = 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ClippingWarning)
        try:
            ids, lengths = job.tokenizer.encode_batch(
                chunks, on_overflow=job.on_overflow, check_shape=job.check_shape
            )
        except EncodeError as err:
            raise EncodeError(_locate(str(err), ids_of[pos], start_frame, task)) from None
    for w in caught:
        if isinstance(w.message, ClippingWarning):
            counts = [
                a + b for a, b in zip(counts or [0] * len(w.message.counts), w.message.counts)
            ]
            total += w.message.total
        else:  # not ours to swallow
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    lengths = np.asarray(lengths, dtype=np.int32)
    offsets = np.zeros(len(lengths) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    flat = ids[np.arange(ids.shape[1]) < lengths[:, None]] if ids.size else np.zeros(0, np.int32)
    table = pa.table(
        {
            "episode_index": pa.array(ids_of[pos], type=pa.int64()),
            "start_frame": pa.array(start_frame, type=pa.int64()),
            "ids": pa.ListArray.from_arrays(
                pa.array(offsets), pa.array(flat.astype(np.int32), type=pa.int32())
            ),
            "length": pa.array(lengths, type=pa.int32()),
        }
    )
    return table, counts, total


def _locate(message: str, episode: np.ndarray, start_frame: np.ndarray, task: Task) -> str:
    """The core numbers chunks within the task's batch: name the episode and frame instead."""
    m = re.search(r"chunk (\d+)", message)
    if not m or int(m.group(1)) >= len(episode):
        return message
    i = int(m.group(1))
    where = f" of {task.file}" if task.file else ""
    return (
        f"{message} (that chunk is episode {int(episode[i])}, starting at frame "
        f"{int(start_frame[i])}{where})"
    )
