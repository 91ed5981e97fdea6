"""Dataset-scale ``actok encode``: a dataset streamed into a Parquet file of token ids.

The dataset is planned first (only the ``episode_index`` column is read, one row group at a
time), then cut into tasks of whole episodes of about ``frames_per_task`` frames. A task reads
only the row groups holding its episodes, so memory stays at a few tasks' worth whatever the
dataset's size. Tasks run in this process, in ``--workers`` processes or on a Ray cluster and
their results are written in task order, so the output does not depend on where they ran.

Output columns: ``episode_index`` (int64), ``start_frame`` (int64: the ``frame_index`` of the
chunk's first step), ``ids`` (list<int32>) and ``length`` (int32); the schema's ``actok``
metadata (JSON) records the chunk shape and how the data was prepared.
"""

from __future__ import annotations

import collections
import json
import os
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from ._actok import EncodeError, LoadError, set_num_threads
from ._chunking import chunk_positions
from ._clipping import ClippingWarning, warn_clipped
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
        sizes = [
            pq.ParquetFile(f).metadata.row_group(i).num_rows
            for i in range(pq.ParquetFile(f).num_row_groups)
        ]
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


# ------------------------------------------------------------------ engines

_WORKER_JOB: Job | None = None


def _init_worker(job: Job) -> None:
    global _WORKER_JOB
    _WORKER_JOB = job
    if job.threads is not None:
        set_num_threads(job.threads)


def _worker_task(task: Task) -> tuple[Any, list[int], int]:
    assert _WORKER_JOB is not None
    return run_task(_WORKER_JOB, task)


def _ray_task(job: Job, task: Task) -> tuple[Any, list[int], int]:
    if job.threads is not None:
        set_num_threads(job.threads)
    return run_task(job, task)


def execute(
    job: Job,
    tasks: list[Task],
    *,
    engine: str = "local",
    workers: int = 1,
    ray_address: str | None = None,
) -> Iterator[tuple[Task, tuple[Any, list[int], int]]]:
    """Runs the tasks and yields ``(task, result)`` in task order, holding at most a few
    results beyond the one being written."""
    if engine == "ray":
        yield from _execute_ray(job, tasks, workers, ray_address)
    elif workers <= 1:
        for task in tasks:
            yield task, run_task(job, task)
    else:
        import concurrent.futures
        import multiprocessing

        # spawn: a forked child would inherit this process's thread pool mid-state.
        ctx = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(
            workers, mp_context=ctx, initializer=_init_worker, initargs=(job,)
        ) as pool:
            yield from _windowed(tasks, lambda t: pool.submit(_worker_task, t), 2 * workers)


def _windowed(
    tasks: list[Task],
    submit: Callable[[Task], Any],
    window: int,
    get: Callable[[Any], Any] | None = None,
) -> Iterator[tuple[Task, Any]]:
    pending: collections.deque[tuple[Task, Any]] = collections.deque()
    for task in tasks:
        pending.append((task, submit(task)))
        if len(pending) >= window:
            t, fut = pending.popleft()
            yield t, fut.result() if get is None else get(fut)
    while pending:
        t, fut = pending.popleft()
        yield t, fut.result() if get is None else get(fut)


def _execute_ray(
    job: Job, tasks: list[Task], workers: int, address: str | None
) -> Iterator[tuple[Task, Any]]:
    ray = require("ray", extra="ray", needed_for="actok encode --engine ray")
    started = not ray.is_initialized()
    if started:
        kwargs: dict[str, Any] = {
            "include_dashboard": False,
            "log_to_driver": False,
            "logging_level": "ERROR",
        }
        if address is not None:
            kwargs["address"] = address
        elif workers > 1:
            kwargs["num_cpus"] = workers
        ray.init(**kwargs)
    try:
        cpus = int(ray.cluster_resources().get("CPU", 1))
        # One core per task: the tasks are the parallelism, not the core's thread pool.
        job = job if job.threads is not None else _with_threads(job, 1)
        job_ref = ray.put(job)
        remote = ray.remote(num_cpus=1)(_ray_task)

        def get(ref: Any) -> Any:
            try:
                return ray.get(ref)
            except ray.exceptions.RayTaskError as err:
                # The task's own error (an EncodeError naming the episode), not Ray's wrapper
                # with a remote traceback: the CLI prints it as its one line.
                cause = getattr(err, "cause", None)
                if isinstance(cause, Exception):
                    raise cause from None
                raise

        yield from _windowed(tasks, lambda t: remote.remote(job_ref, t), 2 * cpus, get)
    finally:
        if started:
            ray.shutdown()


def _with_threads(job: Job, threads: int) -> Job:
    import dataclasses

    return dataclasses.replace(job, threads=threads)


# ------------------------------------------------------------------ output


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
    with open(output, "wb") as sink, pq.ParquetWriter(sink, schema) as writer:
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
    out = np.lib.format.open_memmap(os.fspath(output), mode="w+", dtype=np.float64, shape=(n, h, d))
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
    return n, h, d, bad, meta
